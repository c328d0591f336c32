// Small DOM helpers: build elements without innerHTML (no markup injection from data).

import { formatDateTime, stateLabel, t } from "./i18n.js";

/** el("a", {href: "/x", class: "y"}, "text", child…); `on*` keys attach listeners. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, value);
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** The state as a coloured badge that also says its name (colour is never the only cue). */
export function stateBadge(state) {
  return el("span", { class: `badge state-${state}` }, stateLabel(state));
}

export function time(iso) {
  return iso ? el("time", { datetime: iso }, formatDateTime(iso)) : "—";
}

/** A status line for the user: polite for progress, assertive (alert) for errors. */
export function notify(region, text, kind = "info") {
  region.hidden = false;
  region.className = `notice notice-${kind}`;
  region.setAttribute("role", kind === "error" ? "alert" : "status");
  region.textContent = text;
}

/** An API error as a sentence: the server's message in our language, with field errors. */
export function errorText(error) {
  if (!error || !error.status) return t("error_network");
  const fields = Object.entries(error.errors || {})
    .map(([name, messages]) => `${name}: ${[].concat(messages).join(" ")}`);
  return [error.message, ...fields].filter(Boolean).join(" — ");
}

export function showError(region, error) {
  console.error(error);
  notify(region, errorText(error), "error");
}

/** A "loading…" placeholder. */
export function loading() {
  return el("p", { class: "muted", role: "status" }, t("loading"));
}

/** A photo thumbnail that opens the display-size image. */
export function photoLink(photo, alt) {
  return el("a", { href: photo.display_url, class: "photo", target: "_blank", rel: "noopener" },
    el("img", { src: photo.thumb_url, alt, loading: "lazy", width: 160, height: 120 }));
}

/** A list's total as shown: "10000+" when the server stopped counting (total_exact false). */
export function totalText(page) {
  return page.total_exact === false ? `${page.total}+` : String(page.total);
}

/** Previous / next buttons for a paginated list. */
export function pager(page, onPage) {
  if (!page || (page.pages || 1) <= 1) return null;
  return el("nav", { class: "pager", "aria-label": t("pager_label") },
    el("button", { type: "button", disabled: page.page <= 1, onclick: () => onPage(page.page - 1) },
      t("pager_previous")),
    el("span", {}, t("pager_status", { page: page.page, pages: page.pages, total: totalText(page) })),
    el("button", { type: "button", disabled: page.page >= page.pages,
      onclick: () => onPage(page.page + 1) }, t("pager_next")));
}
