// A case file as the console shows it (GET /cases/{id}): facts, photos, place, clocks and
// timeline. Operators' data includes the reporter; agency staff's never does.

import { api } from "./api.js";
import { PAGE, formatRemaining, label, stateLabel, t } from "./i18n.js";
import { createMap, drawAreas, legend, stateMarker } from "./map.js";
import { el, photoLink, stateBadge, time } from "./ui.js";

/** The deadline cell: when, how much working time is left, and a word when it is late. */
export function deadline(c) {
  if (!c.due_at) return el("span", { class: "muted" }, t("no_deadline"));
  const parts = [time(c.due_at)];
  if (c.due_step) parts.push(" ", el("span", { class: "muted" }, `(${t(`step_${c.due_step}`)})`));
  if (c.remaining_minutes !== null && c.remaining_minutes !== undefined) {
    parts.push(el("br"), el("span", { class: c.remaining_minutes < 0 ? "late" : "left" },
      formatRemaining(c.remaining_minutes, c.track)));
  } else if (c.is_overdue) {
    parts.push(el("br"), el("span", { class: "late" }, t("overdue")));
  }
  return el("span", { class: "deadline" }, parts);
}

export function caseTitle(c, level = "h1") {
  return el(level, { class: "case-title" },
    el("span", { class: "code" }, c.tracking_code), " ", stateBadge(c.state),
    c.is_overdue ? el("span", { class: "badge overdue" }, t("overdue")) : null,
    c.priority && c.priority !== "normal"
      ? el("span", { class: `badge priority-${c.priority}` }, PAGE.priorities[c.priority]) : null);
}

function fact(name, value) {
  return [el("dt", {}, name), el("dd", {}, value === null || value === undefined || value === "" ? "—" : value)];
}

export function facts(c) {
  return el("dl", { class: "facts block" },
    fact(t("category"), label(c.category && c.category.name)),
    fact(t("area"), c.area ? label(c.area.name) : null),
    fact(t("address"), c.address),
    fact(t("agency"), c.agency ? label(c.agency.name) : t("not_assigned")),
    fact(t("submitted_at"), time(c.submitted_at)),
    fact(t("deadline"), deadline(c)),
    c.pending_extension_due_at ? fact(t("extension_requested"), time(c.pending_extension_due_at)) : null,
    c.resolved_at ? fact(t("resolved_at"), time(c.resolved_at)) : null,
    c.reject_reason ? fact(t("reject_reason"), label(c.reject_reason_label) || c.reject_reason) : null,
    c.duplicate_of ? fact(t("duplicate_of"), el("a", { href: `/console/cases/${c.duplicate_of.id}` },
      c.duplicate_of.tracking_code)) : null);
}

/** The citizen's words and the category's extra fields, labelled from the category. */
export function descriptionBlock(c, categoryList) {
  const category = (categoryList || []).find((cat) => cat.code === (c.category && c.category.code));
  const defs = new Map(((category && category.fields) || []).map((f) => [f.code, f]));
  const attrs = Object.entries(c.attributes || {}).map(([code, value]) => {
    const def = defs.get(code);
    const name = def ? (def[`label_${PAGE.lang}`] || def.label_vi) : code;
    const values = [].concat(value).map((v) => {
      const known = def && (def.values || []).find((item) => item.key === v);
      return known ? (known[`name_${PAGE.lang}`] || known.name_vi) : String(v);
    });
    return fact(name, values.join(", "));
  });
  return el("section", { class: "block", "aria-labelledby": `desc-${c.id}` },
    el("h2", { id: `desc-${c.id}` }, t("description")),
    el("p", { class: "description" }, c.description || "—"),
    attrs.length ? el("dl", { class: "facts" }, attrs) : null);
}

/** Who sent it: only in the operator view (the staff view has no such field). */
export function reporterBlock(c) {
  if (!c.reporter) return null;
  const r = c.reporter;
  return el("section", { class: "block reporter", "aria-labelledby": `rep-${c.id}` },
    el("h2", { id: `rep-${c.id}` }, t("reporter")),
    el("dl", { class: "facts" },
      fact(t("reporter_name"), r.name),
      fact(t("reporter_phone"), r.phone),
      fact(t("reporter_email"), r.email),
      r.is_anonymous ? fact(t("reporter_anonymous"), t("yes")) : null));
}

const PHOTO_KINDS = ["report", "info", "after"];

export function photosBlock(c) {
  const groups = PHOTO_KINDS.map((kind) => {
    const photos = (c.photos || []).filter((p) => p.kind === kind);
    if (!photos.length) return null;
    return el("div", { class: "photo-group" },
      el("h3", {}, t(`photos_${kind}`)),
      el("div", { class: "photos" }, photos.map((p, i) => photoLink(p, t(`photo_alt_${kind}`, { n: i + 1 })))));
  }).filter(Boolean);
  return el("section", { class: "block", "aria-labelledby": `photos-${c.id}` },
    el("h2", { id: `photos-${c.id}` }, t("photos")),
    groups.length ? groups : el("p", { class: "muted" }, t("no_photos")));
}

/** The map: the case's point over the boundaries (its area highlighted), nearby reports too. */
export async function caseMap(container, c, nearby = []) {
  const map = createMap(container, { label: t("map_case_label", { code: c.tracking_code }) });
  const focus = c.lat !== null && c.lat !== undefined ? [c.lat, c.lon] : null;
  await drawAreas(map, { highlight: c.area && c.area.code, focus, focusZoom: 15 });
  for (const other of nearby) {
    stateMarker(other.lat, other.lon, other.status.code,
      { radius: 6, popup: el("span", {}, `${other.tracking_code} · ${label(other.category.name)}`) }).addTo(map);
  }
  if (focus) stateMarker(c.lat, c.lon, c.state, { radius: 10, popup: el("span", {}, c.tracking_code) }).addTo(map);
  return map;
}

export function mapBlock(c) {
  const container = el("div", { class: "map map-small" });
  const states = [...new Set([c.state])];
  const block = el("section", { class: "block", "aria-labelledby": `map-${c.id}` },
    el("h2", { id: `map-${c.id}` }, t("place")),
    container,
    el("p", { class: "muted small" },
      c.lat !== null && c.lat !== undefined ? `${c.lat.toFixed(5)}, ${c.lon.toFixed(5)}` : t("no_location"),
      c.accuracy_m ? ` · ±${Math.round(c.accuracy_m)} m` : ""),
    legend(states));
  return { block, container };
}

/** Each step's clock; with the SLA status (GET /sla/cases/{id}) also the time left. */
export function clocksBlock(c, status) {
  const steps = status ? status.steps : (c.clocks || []).map((k) => ({
    ...k, state: k.is_overdue ? "late" : k.status, remaining_minutes: null,
  }));
  if (!steps.length) return null;
  return el("section", { class: "block", "aria-labelledby": `clocks-${c.id}` },
    el("h2", { id: `clocks-${c.id}` }, t("clocks")),
    el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {},
        ["clock_step", "clock_status", "clock_due", "time_left"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, steps.map((k) => el("tr", { class: k.state === "late" ? "is-late" : null },
        el("th", { scope: "row" }, t(`step_${k.step}`), k.round > 1 ? ` (${t("clock_round")} ${k.round})` : ""),
        el("td", { class: k.state === "late" ? "late" : null }, t(`clock_${k.state}`)),
        el("td", {}, time(k.due_at),
          k.extended || (k.original_due_at && k.original_due_at !== k.due_at)
            ? el("span", { class: "muted small" }, el("br"), t("clock_original_due"), " ", time(k.original_due_at)) : null),
        el("td", {}, k.remaining_minutes === null || k.remaining_minutes === undefined || k.state === "stopped"
          ? "—" : formatRemaining(k.remaining_minutes, k.track))))))));
}

function eventDetails(event, photosById) {
  const lines = [];
  if (event.routing && event.routing.agency) {
    lines.push(el("p", {}, t("routed_to", { agency: label(event.routing.agency.name) }),
      event.routing.by ? ` (${t(`routed_by_${event.routing.by}`)})` : ""));
  }
  if (event.reason) lines.push(el("p", {}, `${t("field_reason")}: `, label(event.reason_label) || event.reason));
  if (event.duplicate_of) {
    lines.push(el("p", {}, `${t("duplicate_of")}: `,
      el("a", { href: `/console/cases/${event.duplicate_of.id}` }, event.duplicate_of.tracking_code || event.duplicate_of.id)));
  }
  if (event.decision_label) lines.push(el("p", {}, label(event.decision_label)));
  if (event.due_at) lines.push(el("p", {}, `${t("field_due_at")}: `, time(event.due_at)));
  if (event.priority) lines.push(el("p", {}, `${t("field_priority")}: ${PAGE.priorities[event.priority] || event.priority}`));
  if (event.rating) lines.push(el("p", {}, `${t("field_rating")}: ${t(`rating_${event.rating}`)}`));
  if (event.note) lines.push(el("p", { class: "note" }, event.note));
  const photos = (event.photo_ids || []).map((id) => photosById.get(id)).filter(Boolean);
  if (photos.length) {
    lines.push(el("div", { class: "photos" }, photos.map((p, i) => photoLink(p, t(`photo_alt_${p.kind}`, { n: i + 1 })))));
  }
  return lines;
}

export function timelineBlock(c) {
  const photosById = new Map((c.photos || []).map((p) => [p.id, p]));
  return el("section", { class: "block", "aria-labelledby": `tl-${c.id}` },
    el("h2", { id: `tl-${c.id}` }, t("timeline")),
    el("ol", { class: "timeline" }, (c.timeline || []).map((event) => el("li", { class: event.is_public ? "" : "internal" },
      el("div", { class: "tl-head" },
        el("strong", {}, label(event.label) || event.action),
        event.from_state !== event.to_state && event.to_state
          ? el("span", { class: "muted" }, ` · ${event.from_state ? `${stateLabel(event.from_state)} → ` : ""}${stateLabel(event.to_state)}`)
          : null,
        event.is_public ? null : el("span", { class: "badge internal-tag" }, t("internal"))),
      el("div", { class: "tl-meta muted" }, time(event.created_at), " · ",
        label(event.party_label) || event.party,
        event.actor && event.actor.name ? ` · ${event.actor.name}` : ""),
      eventDetails(event, photosById)))));
}

