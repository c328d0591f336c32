// The public page: the province's headline figures and a map of public reports by status.
// Public data only (no sign-in, no token sent, nothing personal in the API's answers).

import { allPages, publicApi } from "../api.js";
import { formatDate, formatNumber, formatPercent, label, t } from "../i18n.js";
import { STATE_COLOURS, createMap, drawAreas, legend, stateMarker } from "../map.js";
import { clear, el, showError, stateBadge, time } from "../ui.js";

const pageStatus = document.getElementById("page-status");
const MAP_PAGES = 5;
const LATEST = 12;

async function loadFigures() {
  const root = document.getElementById("public-figures");
  try {
    const summary = await publicApi("/stats/public-summary");
    const f = summary.figures;
    clear(root,
      el("p", { class: "headline" }, label(summary.headline)),
      el("dl", { class: "figures" },
        [["received", formatNumber(f.received)], ["handled", formatNumber(f.handled)],
          ["on_time_rate", formatPercent(f.on_time_rate)], ["satisfaction_rate", formatPercent(f.satisfaction_rate)]]
          .map(([key, value]) => el("div", { class: "figure" }, el("dt", {}, t(`fig_${key}`)),
            el("dd", { id: `public-${key}` }, value)))),
      el("p", { class: "muted small" }, t("public_window", {
        from: formatDate(summary.window.from), to: formatDate(summary.window.to),
      })));
  } catch (error) {
    clear(root);
    showError(pageStatus, error);
  }
}

function popup(report) {
  return el("div", { class: "popup" },
    el("a", { href: `/reports/${report.tracking_code}` }, report.tracking_code), el("br"),
    label(report.category.name), el("br"),
    stateBadge(report.status.code), " ", formatDate(report.submitted_at));
}

function card(report) {
  const photo = report.photos && report.photos[0];
  return el("li", { class: "report-card" },
    photo ? el("img", { src: photo.thumb_url, alt: "", width: 96, height: 72, loading: "lazy" })
      : el("span", { class: "thumb-placeholder", "aria-hidden": "true" }),
    el("div", {},
      el("a", { href: `/reports/${report.tracking_code}`, class: "code" }, report.tracking_code), " ",
      stateBadge(report.status.code),
      el("p", {}, label(report.category.name)),
      el("p", { class: "muted small" }, [report.area ? label(report.area.name) : null].filter(Boolean).join(""),
        report.area ? " · " : "", time(report.updated_at))));
}

async function loadMap() {
  const container = document.getElementById("public-map");
  const map = createMap(container, { label: t("public_map_label") });
  document.getElementById("public-legend").replaceWith(legend(Object.keys(STATE_COLOURS)));
  try {
    const [, reports] = await Promise.all([
      drawAreas(map),
      allPages("/public/reports", {}, { auth: false, maxPages: MAP_PAGES }),
    ]);
    for (const report of reports) {
      if (report.lat === null || report.lat === undefined) continue;
      stateMarker(report.lat, report.lon, report.status.code, { popup: popup(report) }).addTo(map);
    }
    const latest = document.getElementById("latest");
    clear(latest, reports.length ? reports.slice(0, LATEST).map(card) : el("li", { class: "muted" }, t("public_none")));
  } catch (error) {
    showError(pageStatus, error);
  }
}

await Promise.all([loadFigures(), loadMap()]);
