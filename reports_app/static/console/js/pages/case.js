// One case: facts, the actions this user may take now, photos, place, clocks and timeline.

import { api } from "../api.js";
import { actionsPanel, categories } from "../actions.js";
import {
  caseMap, caseTitle, clocksBlock, descriptionBlock, facts, mapBlock, photosBlock,
  reporterBlock, timelineBlock,
} from "../casefile.js";
import { PAGE, t } from "../i18n.js";
import { initConsole } from "../shell.js";
import { clear, el, loading, notify, showError } from "../ui.js";

const user = await initConsole(["operator", "staff", "supervisor", "admin"]);
const root = document.getElementById("case-root");
const pageStatus = document.getElementById("page-status");
const caseId = PAGE.case_id;

/** The case's clocks with the working time left (GET /sla/cases/{id}); null if unavailable. */
async function clockStatus(c) {
  try {
    return await api(`/sla/cases/${c.id}`);
  } catch (error) {
    console.warn("time left unavailable", error);
    return null;
  }
}

async function render(c) {
  const { block: placeBlock, container } = mapBlock(c);
  const [panel, categoryList, clocks] = await Promise.all([
    actionsPanel(c, { user, onDone: done, onStale: load }),
    categories(),
    clockStatus(c),
  ]);
  document.title = `${c.tracking_code} · ${document.title.split(" · ").slice(-1)[0]}`;
  clear(root,
    el("div", { class: "detail-head" }, caseTitle(c, "h1"),
      el("a", { href: user.role === "staff" ? "/console/queue" : "/console/triage", class: "back" }, t("back_to_list"))),
    el("div", { class: "case-grid" },
      el("div", { class: "case-main" },
        facts(c),
        descriptionBlock(c, categoryList),
        photosBlock(c),
        reporterBlock(c),
        timelineBlock(c)),
      el("div", { class: "case-side" },
        panel,
        placeBlock,
        clocksBlock(c, clocks))));
  await caseMap(container, c);
}

async function done(updated, action, actionText) {
  notify(pageStatus, t("action_done", { action: actionText }), "success");
  await render(updated);
}

async function load() {
  clear(root, loading());
  try {
    await render(await api(`/cases/${caseId}`));
  } catch (error) {
    clear(root);
    if (error.status === 404) {
      clear(root, el("h1", {}, t("case_not_found")), el("p", {}, el("a", { href: "/console/" }, t("back_to_start"))));
    } else {
      showError(pageStatus, error);
    }
  }
}

await load();
