// The agency's queue: its cases, soonest deadline first, with the working time left.

import { api } from "../api.js";
import { deadline } from "../casefile.js";
import { PAGE, label, t } from "../i18n.js";
import { initConsole } from "../shell.js";
import { clear, el, loading, pager, showError, stateBadge, totalText } from "../ui.js";

const FILTERS = {
  open: "assigned,in_progress,need_info",
  done: "resolved,closed",
};

const user = await initConsole(["staff", "supervisor", "admin"]);
const body = document.getElementById("queue-body");
const pageStatus = document.getElementById("page-status");
const search = document.getElementById("queue-search");
const filters = [...document.querySelectorAll("[data-filter]")];
const heading = document.getElementById("queue-agency");
const showAgency = user.role !== "staff";
const view = { filter: "open", page: 1, q: "" };

if (user.agency) heading.textContent = label({ vi: user.agency.name_vi, en: user.agency.name_en });
document.getElementById("col-agency").hidden = !showAgency;

function row(c) {
  return el("tr", { class: c.is_overdue ? "is-late" : null, "data-case-id": c.id },
    el("th", { scope: "row" }, el("a", { href: `/console/cases/${c.id}` }, c.tracking_code)),
    el("td", {}, stateBadge(c.state)),
    el("td", {}, deadline(c)),
    el("td", {}, label(c.category.name),
      c.priority !== "normal" ? el("span", { class: `badge priority-${c.priority}` }, PAGE.priorities[c.priority]) : null),
    el("td", {}, [c.area ? label(c.area.name) : null, c.address].filter(Boolean).join(" · ") || "—"),
    showAgency ? el("td", {}, c.agency ? label(c.agency.name) : "—") : null,
    el("td", { class: "cell-thumb" }, c.thumb_url ? el("img", { src: c.thumb_url, alt: "", width: 64, height: 48, loading: "lazy" }) : null));
}

async function load() {
  clear(body, el("tr", {}, el("td", { colspan: 7 }, loading())));
  try {
    const page = await api("/cases", { query: { status: FILTERS[view.filter], q: view.q, page: view.page, page_size: 25 } });
    clear(body, page.items.length ? page.items.map(row)
      : el("tr", {}, el("td", { colspan: 7, class: "muted empty" }, t("queue_empty"))));
    document.getElementById("queue-total").textContent = t("queue_total", { total: totalText(page) });
    document.querySelector(".pager-slot").replaceChildren(pager(page, (n) => {
      view.page = n;
      load();
    }) || "");
  } catch (error) {
    clear(body);
    showError(pageStatus, error);
  }
}

for (const button of filters) {
  button.addEventListener("click", () => {
    view.filter = button.dataset.filter;
    view.page = 1;
    for (const other of filters) other.setAttribute("aria-pressed", String(other === button));
    load();
  });
}

document.getElementById("queue-search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  view.q = search.value.trim();
  view.page = 1;
  load();
});

await load();
