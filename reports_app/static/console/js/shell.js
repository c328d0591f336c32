// The console frame shared by every signed-in page: who is signed in, the links their role
// may use, and sign-out.

import { label, t } from "./i18n.js";
import { logout, requireUser } from "./api.js";

/** Check the session (and role), then fill the header; resolves to the account. */
export async function initConsole(roles) {
  const user = await requireUser(roles);
  const nav = document.getElementById("console-nav");
  for (const item of nav.querySelectorAll("[data-roles]")) {
    item.hidden = !item.dataset.roles.split(" ").includes(user.role);
  }
  const who = document.getElementById("who");
  const agency = user.agency ? ` · ${label({ vi: user.agency.name_vi, en: user.agency.name_en })}` : "";
  who.textContent = `${user.full_name || user.email || ""} (${t(`role_${user.role}`)}${agency})`;
  document.getElementById("logout").addEventListener("click", () => logout());
  nav.hidden = false;
  return user;
}
