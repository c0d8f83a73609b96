// The service's HTTP API, as any other client uses it. Failures come back as values, not
// exceptions, so every caller has a sentence to show (problem+json, RFC 9457).

import { credential, rejected } from "./credential.js";

/** A response: status, headers and the parsed JSON body (null when there is none).
 *  Every request carries the session's credential; a 401 means it is missing, expired or
 *  revoked, and the sign-in form takes over (see credential.js).
 *  `ifMatch` sends the version an edit started from, so the server refuses (412) to overwrite
 *  a change someone else made meanwhile. */
export async function api(method, path, options = {}) {
  const sent = credential();
  const headers = { Accept: "application/json" };
  if (sent) headers.Authorization = `Bearer ${sent}`;
  if (options.ifMatch) headers["If-Match"] = options.ifMatch;
  const init = { method, headers };
  if (options.body !== undefined) {
    headers["Content-Type"] = options.contentType || "application/json";
    init.body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    const body = { title: "The service cannot be reached", detail: String(error) };
    return { status: 0, ok: false, headers: new Headers(), body };
  }
  const text = await response.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { detail: text };
    }
  }
  const result = { status: response.status, ok: response.ok, headers: response.headers, body };
  if (response.status === 401) rejected(sent, problemText(result));
  return result;
}

/** The sentence to show for a failed request (problem+json `detail`, else its title). */
export function problemText(response) {
  const body = response.body || {};
  return body.detail || body.title || `The request failed with status ${response.status}.`;
}

/** A query string (with its `?`) of the non-empty `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
