// The JSON API from the browser: tokens in sessionStorage (gone when the tab closes),
// one refresh on an expired access token, and errors in the API's one shape.

import { LANG } from "./i18n.js";

const BASE = "/api/v1";
const SESSION_KEY = "reports_console.session";

export const ROLE_HOME = {
  operator: "/console/triage",
  staff: "/console/queue",
  supervisor: "/console/supervisor",
  admin: "/console/supervisor",
};

/** An API refusal: `status`, the machine-readable `code`, and the field `errors`. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || "error";
    this.errors = (body && body.errors) || {};
    this.body = body || {};
  }
}

export function getSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY));
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

export function loginUrl() {
  const next = location.pathname + location.search;
  return `/console/login?next=${encodeURIComponent(next)}`;
}

async function readBody(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }
  return null;
}

let refreshing = null;

/** Trade the refresh token for a new access token, once for all waiting calls. */
function refreshAccess() {
  if (!refreshing) {
    refreshing = (async () => {
      const session = getSession();
      if (!session || !session.refresh_token) return false;
      const response = await fetch(`${BASE}/auth/refresh`, {
        method: "POST",
        headers: { Authorization: `Bearer ${session.refresh_token}`, Accept: "application/json" },
      });
      if (!response.ok) return false;
      const body = await response.json();
      saveSession({ ...session, access_token: body.access_token });
      return true;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/**
 * Call the API. `json` sends a JSON body, `form` a FormData (multipart); `auth: false` sends
 * no token; `raw: true` returns the Response (for CSV and HTML downloads).
 */
export async function api(path, { method = "GET", json, form, auth = true, raw = false, query } = {}) {
  let url = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.append(key, value);
    }
    const text = params.toString();
    if (text) url += (url.includes("?") ? "&" : "?") + text;
  }
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const headers = { Accept: "application/json", "Accept-Language": LANG };
    const session = getSession();
    if (auth && session) headers.Authorization = `Bearer ${session.access_token}`;
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    const response = await fetch(url, { method, headers, body });
    if (response.ok) return raw ? response : readBody(response);
    const error = new ApiError(response.status, await readBody(response));
    if (response.status === 401 && auth && session) {
      if (error.code === "token_expired" && attempt === 0 && (await refreshAccess())) continue;
      clearSession();
      location.assign(loginUrl());
    }
    throw error;
  }
  throw new ApiError(401, { error: "unauthorized" });
}

/** Every page of a paginated list (bounded: `maxPages` pages of `pageSize`). */
export async function allPages(path, query = {}, { pageSize = 100, maxPages = 5, auth = true } = {}) {
  const items = [];
  for (let page = 1; page <= maxPages; page += 1) {
    const result = await api(path, { query: { ...query, page, page_size: pageSize }, auth });
    items.push(...result.items);
    if (page >= (result.pages || 1)) break;
  }
  return items;
}

/**
 * The signed-in account (from the session), or a trip to the login page. With `roles`,
 * another role is sent to its own start page.
 */
export async function requireUser(roles) {
  const session = getSession();
  if (!session || !session.access_token) {
    location.replace(loginUrl());
    return new Promise(() => {});
  }
  if (!session.user) {
    session.user = await api("/me");
    saveSession(session);
  }
  const { user } = session;
  if (roles && !roles.includes(user.role)) {
    location.replace(ROLE_HOME[user.role] || "/console/login");
    return new Promise(() => {});
  }
  return user;
}

/** Revoke both tokens, forget them, and go to the login page. */
export async function logout() {
  const session = getSession();
  if (session) {
    try {
      await api("/auth/logout", { method: "POST", json: { refresh_token: session.refresh_token } });
    } catch (error) {
      console.warn("logout", error);
    }
  }
  clearSession();
  location.assign("/console/login");
}

/** Public GETs need no token (and never send one). */
export function publicApi(path, query) {
  return api(path, { auth: false, query });
}
