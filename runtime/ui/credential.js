// The credential the workbench sends (an API key or a token), in one place. It lives in
// sessionStorage: it stays with this tab and is gone when the tab closes, and unlike
// localStorage it is not left on the machine for the next person. It never goes into a URL:
// a sign-in link's `#key=…` is taken out of the address bar as soon as the page loads.

const STORAGE_KEY = "entity-spec.credential";

// What the service issues (runtime/src/auth/api_keys.rs): `esk_` and 32 random bytes in
// base64url. Tokens are JWTs: three base64url parts separated by dots.
const API_KEY = /^esk_[A-Za-z0-9_-]{43}$/;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

// Who hears that the server refused the credential (the sign-in form).
const rejectionListeners = [];

/** The stored credential, or null when signed out. */
export function credential() {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: every request goes without one, and the form says why
  }
}

/** Keeps `value` for this tab (a pasted `Bearer ` prefix and spaces are dropped). Returns the
 *  sentence to show when it cannot be an API key or a token, else null. The server still
 *  decides whether it is valid; this only catches what was pasted by mistake. */
export function signIn(value) {
  const text = value.trim().replace(/^bearer\s+/i, "");
  const problem = shapeProblem(text);
  if (problem) return problem;
  try {
    window.sessionStorage.setItem(STORAGE_KEY, text);
  } catch {
    return "This browser does not let the page keep the credential (session storage is disabled).";
  }
  return null;
}

/** Forgets the credential. */
export function signOut() {
  try {
    window.sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing was stored
  }
}

function shapeProblem(text) {
  if (!text) return "Paste an API key or a token.";
  if (API_KEY.test(text) || JWT.test(text)) return null;
  if (text.startsWith("esk_")) {
    return `An API key is esk_ followed by 43 letters, digits, - or _; this one has ${text.length - 4} after esk_.`;
  }
  return "This is neither an API key (esk_…) nor a token (three parts separated by dots). Paste it whole.";
}

/** Takes a sign-in link's `#key=…` into the session and out of the address bar (replaced, so
 *  that no history entry keeps it and a copied address does not share it). Returns the
 *  shape problem of a malformed key, else null; a malformed key also ends the session there
 *  was, since the link asked for another. */
export function adoptKeyFromAddress() {
  const hash = window.location.hash;
  if (!hash.startsWith("#key=")) return null;
  window.history.replaceState(null, "", `${window.location.pathname}${window.location.search}`);
  let value;
  try {
    value = decodeURIComponent(hash.slice("#key=".length));
  } catch {
    value = "";
  }
  const problem = signIn(value);
  if (problem) signOut();
  return problem;
}

/** Calls `listener(detail)` when the server refuses the stored credential. */
export function onRejected(listener) {
  rejectionListeners.push(listener);
}

/** The server answered 401 to a request that carried `sent` (null: none): the credential is
 *  forgotten and the listeners told. An answer to a credential that has since been replaced
 *  (a request still in flight when someone signed in again) changes nothing. */
export function rejected(sent, detail) {
  if (sent !== credential()) return;
  signOut();
  for (const listener of rejectionListeners) listener(sent === null ? null : detail);
}
