// The admin API as the dashboard calls it: the token from sessionStorage as a Bearer header,
// JSON in and out, errors as ApiError (status + the API's {"error": reason}, and the whole
// answer as `data`: a 409 of the handoff calls names the holder in `data.agent`).

const TOKEN_KEY = "bot-dashboard-token";
const SKEW_TOLERANCE_MS = 5000;

// The page is served at <prefix>/dashboard/, the API at <prefix>/v1/.
const API_BASE = new URL("../v1/", window.location.href);

let skewMs = 0; // server clock minus browser clock, from the Date header (1 s precision)
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, message, data = null) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

export const token = () => window.sessionStorage.getItem(TOKEN_KEY);
export const saveToken = (value) => window.sessionStorage.setItem(TOKEN_KEY, value);
export const forgetToken = () => window.sessionStorage.removeItem(TOKEN_KEY);

/** Called when the API answers 401 to a signed-in call (the token changed or was revoked). */
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

/** The server's time now, in ms since the epoch (the browser's, corrected by a large skew). */
export const serverNow = () => Date.now() + skewMs;

/**
 * Call the admin API. `path` is relative to /v1/ ("sessions?limit=5"); `body` is sent as JSON.
 * `withToken` overrides the stored token (the sign-in form checks a token before keeping it).
 * Resolves to the parsed JSON; rejects with ApiError (status 0 when the service is unreachable).
 */
export async function api(path, { method = "GET", body, withToken } = {}) {
  const headers = { Authorization: `Bearer ${withToken ?? token() ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(new URL(path, API_BASE), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    throw new ApiError(0, `cannot reach the service (${error.message})`);
  }
  const date = Date.parse(response.headers.get("Date") ?? "");
  if (!Number.isNaN(date)) {
    const measured = date - Date.now();
    skewMs = Math.abs(measured) > SKEW_TOLERANCE_MS ? measured : 0;
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data?.error ?? response.statusText, data);
    if (response.status === 401 && withToken === undefined) onUnauthorized(error);
    throw error;
  }
  return data;
}
