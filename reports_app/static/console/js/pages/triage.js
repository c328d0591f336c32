// Operator triage: new reports (and assigned ones not yet accepted), each with its photos,
// place, similar reports nearby, and assign / merge / reject in a click or two.

import { api, publicApi } from "../api.js";
import { actionsPanel, categories, perform } from "../actions.js";
import {
  caseMap, caseTitle, deadline, descriptionBlock, facts, mapBlock, photosBlock,
  reporterBlock, timelineBlock,
} from "../casefile.js";
import { has, label, t } from "../i18n.js";
import { initConsole } from "../shell.js";
import { clear, el, loading, notify, pager, showError, stateBadge, time, totalText } from "../ui.js";

const NEARBY_RADIUS_M = 500;

const user = await initConsole(["operator", "supervisor", "admin"]);
const list = document.getElementById("case-list");
const listPane = document.getElementById("list-pane");
const detail = document.getElementById("detail");
const pageStatus = document.getElementById("page-status");
const tabs = [...document.querySelectorAll("[data-status-tab]")];
const view = { status: tabs[0].dataset.statusTab, page: 1, selected: null };

async function loadCounts() {
  await Promise.all(tabs.map(async (tab) => {
    const page = await api("/cases", { query: { status: tab.dataset.statusTab, page_size: 1 } });
    tab.querySelector(".count").textContent = totalText(page);
  }));
}

function row(c) {
  const selected = c.id === view.selected;
  return el("li", {},
    el("button", {
      type: "button", class: "case-row", "aria-pressed": String(selected), "data-case-id": c.id,
      onclick: () => openCase(c.id),
    },
    c.thumb_url
      ? el("img", { src: c.thumb_url, alt: "", width: 64, height: 48, loading: "lazy" })
      : el("span", { class: "thumb-placeholder", "aria-hidden": "true" }),
    el("span", { class: "row-main" },
      el("span", { class: "row-title" }, el("span", { class: "code" }, c.tracking_code), " ", stateBadge(c.state)),
      el("span", {}, label(c.category.name)),
      el("span", { class: "muted" }, [c.area ? label(c.area.name) : null, c.agency ? label(c.agency.name) : null]
        .filter(Boolean).join(" · ") || t("no_area")),
      el("span", { class: "muted small" }, t("submitted_short"), " ", time(c.submitted_at))),
    el("span", { class: "row-side" }, deadline(c))));
}

async function loadList() {
  clear(list, el("li", {}, loading()));
  try {
    const page = await api("/cases", { query: { status: view.status, page: view.page, page_size: 20 } });
    clear(list, page.items.length ? page.items.map(row)
      : el("li", { class: "muted empty" }, t("triage_empty")));
    listPane.querySelector(".pager-slot").replaceChildren(pager(page, (n) => {
      view.page = n;
      loadList();
    }) || "");
  } catch (error) {
    clear(list);
    showError(pageStatus, error);
  }
}

function nearbyBlock(c, nearby, canMerge) {
  return el("section", { class: "block", "aria-labelledby": `nearby-${c.id}` },
    el("h2", { id: `nearby-${c.id}` }, t("nearby_heading", { radius: NEARBY_RADIUS_M })),
    nearby.length
      ? el("ul", { class: "nearby" }, nearby.map((other) => el("li", {},
        other.photos && other.photos[0]
          ? el("img", { src: other.photos[0].thumb_url, alt: "", width: 64, height: 48, loading: "lazy" })
          : el("span", { class: "thumb-placeholder", "aria-hidden": "true" }),
        el("span", { class: "row-main" },
          el("span", { class: "row-title" },
            el("a", { href: `/console/cases/${other.id}` }, other.tracking_code), " ", stateBadge(other.status.code)),
          el("span", {}, `${label(other.category.name)} · ${t("distance_m", { m: Math.round(other.distance_m) })}`),
          el("span", { class: "muted small" }, other.description)),
        canMerge ? el("button", {
          type: "button", class: "secondary", "data-merge-into": other.id,
          onclick: (event) => merge(c, other, event.currentTarget),
        }, t("merge_into", { code: other.tracking_code })) : null)))
      : el("p", { class: "muted" }, t("nearby_none", { radius: NEARBY_RADIUS_M })));
}

async function merge(c, other, button) {
  button.disabled = true;
  try {
    const updated = await perform(c.id, "reject", { version: c.version, reason: "duplicate", duplicate_of: other.id });
    done(updated, "merge");
  } catch (error) {
    button.disabled = false;
    showError(pageStatus, error);
    if (error.code === "stale_version") openCase(c.id);
  }
}

function done(updated, action, actionText = action) {
  const vars = { code: updated.tracking_code, agency: updated.agency ? label(updated.agency.name) : "", action: actionText };
  notify(pageStatus, has(`done_${action}`) ? t(`done_${action}`, vars) : t("action_done", vars), "success");
  loadCounts();
  loadList();
  render(updated, []);
}

async function render(c, nearby) {
  const { block: placeBlock, container } = mapBlock(c);
  const [panel, categoryList] = await Promise.all([
    actionsPanel(c, { user, onDone: done, onStale: () => openCase(c.id) }),
    categories(),
  ]);
  clear(detail,
    el("div", { class: "detail-head" }, caseTitle(c, "h2"),
      el("a", { href: `/console/cases/${c.id}`, class: "open-full" }, t("open_case_page"))),
    facts(c),
    panel,
    descriptionBlock(c, categoryList),
    photosBlock(c),
    reporterBlock(c),
    placeBlock,
    nearbyBlock(c, nearby, c.allowed_actions.includes("reject")),
    el("details", { class: "block" }, el("summary", {}, t("timeline")), timelineBlock(c)));
  await caseMap(container, c, nearby);
}

async function openCase(id) {
  view.selected = id;
  for (const button of list.querySelectorAll(".case-row")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.caseId) === id));
  }
  clear(detail, loading());
  try {
    const c = await api(`/cases/${id}`);
    let nearby = [];
    if (c.lat !== null && c.lat !== undefined) {
      const found = await publicApi("/reports/nearby", {
        lat: c.lat, lon: c.lon, radius_m: NEARBY_RADIUS_M, category: c.category.code,
      });
      nearby = found.items.filter((other) => other.id !== c.id);
    }
    await render(c, nearby);
    detail.focus();
  } catch (error) {
    clear(detail);
    showError(pageStatus, error);
  }
}

for (const tab of tabs) {
  tab.addEventListener("click", () => {
    view.status = tab.dataset.statusTab;
    view.page = 1;
    for (const other of tabs) other.setAttribute("aria-pressed", String(other === tab));
    loadList();
  });
}

loadCounts().catch((error) => showError(pageStatus, error));
await loadList();
const wanted = Number(new URLSearchParams(location.search).get("case"));
if (wanted) openCase(wanted);
