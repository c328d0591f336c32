// Supervisor dashboard: the figures and each agency's, breaches and cases due soon,
// extension requests to decide, and the kept monthly summaries.

import { allPages, api } from "../api.js";
import { perform } from "../actions.js";
import { LANG, PAGE, formatMinutes, formatNumber, formatPercent, formatRemaining, label, t } from "../i18n.js";
import { initConsole } from "../shell.js";
import { clear, el, errorText, loading, notify, showError, time } from "../ui.js";

await initConsole(["supervisor", "admin"]);
const pageStatus = document.getElementById("page-status");
const SVG = "http://www.w3.org/2000/svg";

/** Today's date in the office's time zone, as [year, month, day]. */
function officeToday() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: PAGE.timezone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(new Date());
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  return [get("year"), get("month"), get("day")];
}

const pad = (n) => String(n).padStart(2, "0");

function periodStart(period) {
  const [year, month, day] = officeToday();
  if (period === "month") return `${year}-${pad(month)}-01`;
  if (period === "30d") {
    const date = new Date(Date.UTC(year, month - 1, day - 30));
    return date.toISOString().slice(0, 10);
  }
  return `${year}-01-01`;
}

function table(headers, rows, { caption } = {}) {
  return el("div", { class: "table-wrap" }, el("table", {},
    caption ? el("caption", { class: "visually-hidden" }, caption) : null,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", class: h.numeric ? "n" : null }, h.text)))),
    el("tbody", {}, rows)));
}

const FIGURES = [
  ["received", formatNumber], ["handled", formatNumber], ["handled_on_time", formatNumber],
  ["on_time_rate", formatPercent], ["in_progress", formatNumber], ["open_overdue", formatNumber],
  ["satisfaction_rate", formatPercent], ["median_hours_to_resolve", (h) => (h === null ? "—" : formatMinutes(h * 60))],
];

function figureList(figures, idPrefix) {
  return el("dl", { class: "figures" }, FIGURES.map(([key, format]) => el("div", { class: "figure" },
    el("dt", {}, t(`fig_${key}`)),
    el("dd", { id: `${idPrefix}-${key}`, "data-value": figures[key] ?? "" }, format(figures[key])))));
}

function agencyRows(rows) {
  return rows.map((r) => el("tr", {},
    el("th", { scope: "row" }, r.id === null ? t("not_assigned") : label({ vi: r.name_vi, en: r.name_en })),
    el("td", { class: "n" }, formatNumber(r.received)),
    el("td", { class: "n" }, formatNumber(r.handled)),
    el("td", { class: "n" }, formatPercent(r.on_time_rate)),
    el("td", { class: "n" }, formatPercent(r.satisfaction_rate)),
    el("td", { class: `n${r.open_overdue ? " late" : ""}` }, formatNumber(r.open_overdue))));
}

const AGENCY_HEADERS = () => [
  { text: t("agency") }, { text: t("fig_received"), numeric: true }, { text: t("fig_handled"), numeric: true },
  { text: t("fig_on_time_rate"), numeric: true }, { text: t("fig_satisfaction_rate"), numeric: true },
  { text: t("fig_open_overdue"), numeric: true },
];

// ------------------------------------------------------------------ figures and agencies

const periodSelect = document.getElementById("period");

async function loadFigures() {
  const root = document.getElementById("figures");
  const agencies = document.getElementById("agencies");
  clear(root, loading());
  try {
    const summary = await api("/stats/summary", { query: { from: periodStart(periodSelect.value), breakdown: "agency" } });
    clear(root, el("p", { class: "headline" }, label(summary.headline)), figureList(summary.figures, "fig"),
      el("p", { class: "muted small" }, t("as_of"), " ", time(summary.as_of)));
    clear(agencies, table(AGENCY_HEADERS(), agencyRows(summary.breakdowns.agency || []), { caption: t("agencies_heading") }));
  } catch (error) {
    clear(root);
    showError(pageStatus, error);
  }
}

periodSelect.addEventListener("change", loadFigures);

// ------------------------------------------------------------------ breaches and due soon

function ackForm(event) {
  const id = `ack-${event.id}`;
  const input = el("input", { id, type: "text", maxlength: 2000, required: true });
  const form = el("form", { class: "inline-form" },
    el("label", { for: id, class: "visually-hidden" }, t("ack_note_label", { code: event.tracking_code })),
    input, el("button", { type: "submit", class: "secondary" }, t("acknowledge")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!input.value.trim()) {
      input.focus();
      notify(pageStatus, t("ack_note_needed"), "error");
      return;
    }
    try {
      await api(`/sla/breaches/${event.id}/acknowledge`, { method: "POST", json: { note: input.value.trim() } });
      notify(pageStatus, t("acknowledged_done", { code: event.tracking_code }), "success");
      loadBreaches();
    } catch (error) {
      showError(pageStatus, error);
    }
  });
  return form;
}

async function loadBreaches() {
  const root = document.getElementById("breaches");
  clear(root, loading());
  try {
    const page = await api("/sla/breaches", { query: { kind: "breach", open: true, page_size: 50 } });
    clear(root, page.items.length ? table(
      [{ text: t("case") }, { text: t("agency") }, { text: t("clock_step") }, { text: t("clock_due") },
        { text: t("late_by"), numeric: true }, { text: t("acknowledgement") }],
      page.items.map((b) => el("tr", {},
        el("th", { scope: "row" }, el("a", { href: `/console/cases/${b.case_id}` }, b.tracking_code)),
        el("td", {}, b.agency ? label(b.agency) : "—"),
        el("td", {}, t(`step_${b.step}`)),
        el("td", {}, time(b.due_at)),
        el("td", { class: "n late" }, b.late_working_hours === null ? "—" : formatMinutes(b.late_working_hours * 60)),
        el("td", {}, b.acknowledged_at
          ? [t("acknowledged_by", { name: (b.acknowledged_by && b.acknowledged_by.full_name) || "" }), " ", time(b.acknowledged_at)]
          : ackForm(b)))),
      { caption: t("breaches_heading") })
      : el("p", { class: "muted" }, t("breaches_none")));
  } catch (error) {
    clear(root);
    showError(pageStatus, error);
  }
}

async function loadDueSoon() {
  const root = document.getElementById("due-soon");
  clear(root, loading());
  try {
    const page = await api("/sla/due-soon", { query: { within_hours: 8, page_size: 50 } });
    clear(root, page.items.length ? table(
      [{ text: t("case") }, { text: t("agency") }, { text: t("clock_step") }, { text: t("clock_due") }, { text: t("time_left") }],
      page.items.map((d) => el("tr", {},
        el("th", { scope: "row" }, el("a", { href: `/console/cases/${d.case_id}` }, d.tracking_code)),
        el("td", {}, d.agency ? label(d.agency) : t("not_assigned")),
        el("td", {}, t(`step_${d.step}`)),
        el("td", {}, time(d.due_at)),
        el("td", {}, formatRemaining(d.remaining_minutes, d.track)))),
      { caption: t("due_soon_heading") })
      : el("p", { class: "muted" }, t("due_soon_none")));
  } catch (error) {
    clear(root);
    showError(pageStatus, error);
  }
}

// ------------------------------------------------------------------ extension requests

async function decide(c, decision, buttons) {
  for (const b of buttons) b.disabled = true;
  try {
    await perform(c.id, "extend", { version: c.version, decision });
    notify(pageStatus, t(`extension_${decision}_done`, { code: c.tracking_code }), "success");
    loadExtensions();
    loadFigures();
  } catch (error) {
    for (const b of buttons) b.disabled = false;
    notify(pageStatus, errorText(error), "error");
    if (error.code === "stale_version") loadExtensions();
  }
}

async function loadExtensions() {
  const root = document.getElementById("extensions");
  clear(root, loading());
  try {
    const pending = await allPages("/cases", { pending_extension: true }, { maxPages: 5 });
    clear(root, pending.length ? table(
      [{ text: t("case") }, { text: t("agency") }, { text: t("deadline") }, { text: t("extension_requested") }, { text: t("decision") }],
      pending.map((c) => {
        const grant = el("button", { type: "button", class: "primary", "data-decision": "grant" }, t("decision_grant"));
        const refuse = el("button", { type: "button", class: "secondary", "data-decision": "refuse" }, t("decision_refuse"));
        grant.addEventListener("click", () => decide(c, "grant", [grant, refuse]));
        refuse.addEventListener("click", () => decide(c, "refuse", [grant, refuse]));
        return el("tr", { "data-case-id": c.id },
          el("th", { scope: "row" }, el("a", { href: `/console/cases/${c.id}` }, c.tracking_code)),
          el("td", {}, c.agency ? label(c.agency.name) : "—"),
          el("td", {}, time(c.resolve_due_at || c.due_at)),
          el("td", {}, time(c.pending_extension_due_at)),
          el("td", { class: "buttons" }, grant, " ", refuse));
      }),
      { caption: t("extensions_heading") })
      : el("p", { class: "muted" }, t("extensions_none")));
  } catch (error) {
    clear(root);
    showError(pageStatus, error);
  }
}

// ------------------------------------------------------------------ monthly summaries

const monthSelect = document.getElementById("month");

function monthOptions() {
  const [year, month] = officeToday();
  const options = [];
  for (let back = 1; back <= 24; back += 1) {
    const date = new Date(Date.UTC(year, month - 1 - back, 1));
    const value = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}`;
    options.push(el("option", { value }, new Intl.DateTimeFormat(LANG === "vi" ? "vi-VN" : "en-GB",
      { month: "long", year: "numeric", timeZone: "UTC" }).format(date)));
  }
  monthSelect.replaceChildren(...options);
}

/** Bars per month (received and handled) with the on-time rate written under each. */
function trendChart(trend) {
  const width = 640;
  const height = 220;
  const left = 40;
  const bottom = 40;
  const top = 16;
  const max = Math.max(1, ...trend.map((p) => p.received));
  const slot = (width - left - 8) / Math.max(1, trend.length);
  const bar = Math.min(24, slot / 3);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-labelledby", "trend-title");
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  node("title", { id: "trend-title" }, t("trend_chart_title"));
  node("line", { x1: left, x2: width - 4, y1: y(0), y2: y(0), stroke: "#334155" });
  node("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end", class: "axis" }, formatNumber(max));
  node("text", { x: left - 6, y: y(0) + 4, "text-anchor": "end", class: "axis" }, "0");
  trend.forEach((p, i) => {
    const x = left + slot * i + slot / 2;
    node("rect", { x: x - bar, y: y(p.received), width: bar, height: y(0) - y(p.received), class: "bar-received" });
    node("rect", { x, y: y(p.handled), width: bar, height: y(0) - y(p.handled), class: "bar-handled" });
    node("text", { x, y: height - bottom + 16, "text-anchor": "middle", class: "axis" }, p.month);
    node("text", { x, y: height - bottom + 32, "text-anchor": "middle", class: "axis" }, formatPercent(p.on_time_rate));
  });
  return svg;
}

async function download(month, format) {
  try {
    const response = await api(`/stats/monthly/${month}`, { query: { format, lang: LANG }, raw: true });
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const name = `${LANG === "vi" ? "bao-cao" : "summary"}-${month}.${format}`;
    const link = el("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (error) {
    showError(pageStatus, error);
  }
}

async function loadMonthly() {
  const root = document.getElementById("monthly-body");
  const month = monthSelect.value;
  clear(root, loading());
  try {
    const data = await api(`/stats/monthly/${month}`);
    const trend = data.trend || [];
    clear(root,
      el("p", { class: "headline" }, label(data.headline)),
      figureList(data.figures, "month"),
      el("p", { class: "muted small" }, t("monthly_cutoff"), " ", time(data.cutoff_at)),
      el("div", { class: "button-row" },
        el("button", { type: "button", class: "secondary", onclick: () => download(month, "html") }, t("download_html")),
        el("button", { type: "button", class: "secondary", onclick: () => download(month, "csv") }, t("download_csv"))),
      trend.length ? el("figure", { class: "chart-figure" }, trendChart(trend),
        el("figcaption", {}, el("span", { class: "key key-received" }, t("fig_received")), " ",
          el("span", { class: "key key-handled" }, t("fig_handled")), " · ", t("trend_caption"))) : null,
      el("h3", {}, t("agencies_heading")),
      table(AGENCY_HEADERS(), agencyRows((data.breakdowns && data.breakdowns.agency) || []),
        { caption: t("agencies_heading") }));
  } catch (error) {
    if (error.code === "summary_not_built") {
      clear(root, el("p", { class: "muted" }, error.message));
    } else {
      clear(root);
      showError(pageStatus, error);
    }
  }
}

document.getElementById("monthly-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadMonthly();
});

monthOptions();
await Promise.all([loadFigures(), loadBreaches(), loadDueSoon(), loadExtensions(), loadMonthly()]);
