// A public report by tracking code: what, where, who handles it, the reply, the "after"
// photos and the public timeline. The public API carries no personal data.

import { publicApi } from "../api.js";
import { PAGE, label, t } from "../i18n.js";
import { createMap, drawAreas, legend, stateMarker } from "../map.js";
import { clear, el, photoLink, showError, stateBadge, time } from "../ui.js";

const root = document.getElementById("report-root");
const pageStatus = document.getElementById("page-status");

function fact(name, value) {
  return [el("dt", {}, name), el("dd", {}, value || "—")];
}

/** When the agency posted its result (the API's resolved_at). */
function handledAt(report) {
  return report.resolved_at || null;
}

function photoGroup(report, kind) {
  const photos = (report.photos || []).filter((p) => p.kind === kind);
  if (!photos.length) return null;
  return el("div", { class: "photo-group", "data-kind": kind },
    el("h3", {}, t(`photos_${kind}`)),
    el("div", { class: "photos" }, photos.map((p, i) => photoLink(p, t(`photo_alt_${kind}`, { n: i + 1 })))));
}

function timeline(report) {
  return el("ol", { class: "timeline" }, (report.timeline || []).map((event) => el("li", {},
    el("div", { class: "tl-head" }, el("strong", {}, label(event.label) || event.action),
      event.to_state && event.to_state !== event.from_state ? [" ", stateBadge(event.to_state)] : null),
    el("div", { class: "tl-meta muted" }, time(event.at), " · ",
      event.actor && event.actor.agency ? label(event.actor.agency.name) : label(event.actor && event.actor.label)),
    event.reason ? el("p", {}, PAGE.reject_reasons[event.reason] || event.reason) : null)));
}

async function load() {
  try {
    const report = await publicApi(`/public/reports/${encodeURIComponent(PAGE.tracking_code)}`);
    const handled = handledAt(report);
    const deadline = report.due_at || report.resolve_due_at || null;
    const mapContainer = el("div", { class: "map map-small", id: "report-map" });
    clear(root,
      el("h1", { class: "case-title" }, el("span", { class: "code" }, report.tracking_code), " ",
        stateBadge(report.status.code)),
      el("div", { class: "case-grid" },
        el("div", { class: "case-main" },
          el("dl", { class: "facts block" },
            fact(t("category"), label(report.category.name)),
            fact(t("area"), report.area ? label(report.area.name) : null),
            fact(t("address"), report.address),
            fact(t("agency"), report.agency ? label(report.agency.name) : t("not_assigned")),
            fact(t("submitted_at"), time(report.submitted_at)),
            deadline ? fact(t("deadline"), time(deadline)) : null,
            fact(t("handled_at"), handled ? time(handled) : t("not_handled_yet"))),
          el("section", { class: "block", "aria-labelledby": "desc-h" },
            el("h2", { id: "desc-h" }, t("description")), el("p", { class: "description" }, report.description)),
          el("section", { class: "block reply", "aria-labelledby": "reply-h" },
            el("h2", { id: "reply-h" }, t("public_reply")),
            report.public_reply ? el("p", { class: "reply-text", id: "public-reply" }, report.public_reply)
              : el("p", { class: "muted" }, t("no_reply_yet"))),
          el("section", { class: "block", "aria-labelledby": "photos-h" },
            el("h2", { id: "photos-h" }, t("photos")),
            photoGroup(report, "report"), photoGroup(report, "after")),
          el("section", { class: "block", "aria-labelledby": "tl-h" },
            el("h2", { id: "tl-h" }, t("timeline")), timeline(report))),
        el("div", { class: "case-side" },
          el("section", { class: "block", "aria-labelledby": "place-h" },
            el("h2", { id: "place-h" }, t("place")), mapContainer, legend([report.status.code])))));
    const map = createMap(mapContainer, { label: t("map_case_label", { code: report.tracking_code }) });
    const focus = report.lat !== null && report.lat !== undefined ? [report.lat, report.lon] : null;
    await drawAreas(map, { highlight: report.area && report.area.code, focus, focusZoom: 15 });
    if (focus) stateMarker(report.lat, report.lon, report.status.code, { radius: 10 }).addTo(map);
  } catch (error) {
    showError(pageStatus, error);
  }
}

await load();
