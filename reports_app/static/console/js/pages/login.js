// Sign in: tokens go to sessionStorage, then each role to its start page (or `next`).

import { ROLE_HOME, api, clearSession, getSession, saveSession } from "../api.js";
import { t } from "../i18n.js";
import { errorText, notify } from "../ui.js";

const form = document.getElementById("login-form");
const status = document.getElementById("login-status");

/** Only a path on this site, never another origin, is a safe place to go after login. */
function nextUrl(user) {
  const next = new URLSearchParams(location.search).get("next");
  if (next && next.startsWith("/console/") && !next.startsWith("//") && !next.startsWith("/console/login")) {
    return next;
  }
  return ROLE_HOME[user.role];
}

const existing = getSession();
if (existing && existing.user && ROLE_HOME[existing.user.role]) {
  notify(status, t("already_signed_in", { name: existing.user.full_name || existing.user.email }));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  if (!username || !password) {
    notify(status, t("login_missing"), "error");
    (username ? form.elements.password : form.elements.username).focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  notify(status, t("signing_in"));
  try {
    const tokens = await api("/auth/login", { method: "POST", json: { username, password }, auth: false });
    if (!ROLE_HOME[tokens.user.role]) {
      // Citizens use the mobile app; their tokens are revoked at once, never kept here.
      saveSession(tokens);
      await api("/auth/logout", { method: "POST", json: { refresh_token: tokens.refresh_token } }).catch(() => {});
      clearSession();
      notify(status, t("login_not_staff"), "error");
      button.disabled = false;
      return;
    }
    saveSession(tokens);
    location.assign(nextUrl(tokens.user));
  } catch (error) {
    button.disabled = false;
    notify(status, errorText(error), "error");
    form.elements.password.select();
  }
});
