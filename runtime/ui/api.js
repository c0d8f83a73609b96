// The service's HTTP API, as any other client uses it. Failures come back as values, not
// exceptions, so every caller has a sentence to show (problem+json, RFC 9457).

import { credential, rejected } from "./credential.js";

/** A response: status, headers and the parsed JSON body (null when there is none).
 *  Every request carries the session's credential; a 401 means it is missing, expired or
 *  revoked, and the sign-in form takes over (see credential.js).
 *  `ifMatch` sends the version an edit started from, so the server refuses (412) to overwrite
 *  a change someone else made meanwhile. `signal` (an AbortController's) cancels a request
 *  whose answer is no longer wanted; the caller checks the signal before using the result. */
export async function api(method, path, options = {}) {
  const headers = { Accept: "application/json" };
  if (options.ifMatch) headers["If-Match"] = options.ifMatch;
  const init = { method, headers, signal: options.signal };
  if (options.body !== undefined) {
    headers["Content-Type"] = options.contentType || "application/json";
    init.body = JSON.stringify(options.body);
  }
  const { result } = await send(path, init, async (response) => parseBody(await response.text()));
  return result;
}

/** Saves the CSV export of the list at `path` (with its filters and sort) as `fileName`, as a
 *  download the browser offers. Returns the response, with the problem as `body` when it
 *  failed. The body is fetched with the session's credential, so a plain link cannot do it. */
export async function downloadCsv(path, fileName) {
  const init = { method: "GET", headers: { Accept: "text/csv" } };
  const { result } = await send(path, init, async (response) => {
    if (!response.ok) return parseBody(await response.text());
    const url = URL.createObjectURL(await response.blob());
    const link = Object.assign(document.createElement("a"), { href: url, download: fileName });
    document.body.append(link);
    link.click();
    link.remove();
    // The download has been handed to the browser; the blob may go once it has read it.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return null;
  });
  return result;
}

/** Sends a request with the session's credential; `read` turns the response into its body. */
async function send(path, init, read) {
  const sent = credential();
  if (sent) init.headers.Authorization = `Bearer ${sent}`;
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    const body = { title: "The service cannot be reached", detail: String(error) };
    return { result: { status: 0, ok: false, headers: new Headers(), body } };
  }
  const body = await read(response);
  const result = { status: response.status, ok: response.ok, headers: response.headers, body };
  if (response.status === 401) rejected(sent, problemText(result));
  return { result };
}

/** A response body: JSON, or plain text as a problem's `detail`. */
function parseBody(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
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
