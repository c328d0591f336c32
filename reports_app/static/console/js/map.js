// Maps from our own data: area boundaries (GeoJSON) and reports as circle markers coloured
// by status. Tiles only when the deployment configures MAP_TILE_URL; without them the map
// still shows where things are, against the administrative boundaries.

import { PAGE, label, stateLabel, t } from "./i18n.js";
import { publicApi } from "./api.js";
import { el } from "./ui.js";

/* global L */

// Dark enough for white text (≥ 4.5:1) and told apart by name in the legend as well.
export const STATE_COLOURS = {
  submitted: "#a15c07",
  assigned: "#1d4ed8",
  in_progress: "#6d28d9",
  need_info: "#be185d",
  resolved: "#15803d",
  closed: "#374151",
  rejected: "#991b1b",
};

let areasPromise = null;

/** The public area boundaries, fetched once per page. */
export function areaBoundaries() {
  areasPromise ??= publicApi("/areas.geojson");
  return areasPromise;
}

/** A Leaflet map in `container` (an element with a height set by CSS). */
export function createMap(container, { label: ariaLabel } = {}) {
  const map = L.map(container, {
    zoomControl: true,
    attributionControl: Boolean(PAGE.map.tile_url),
    zoomSnap: 0.25,
  });
  if (PAGE.map.tile_url) {
    L.tileLayer(PAGE.map.tile_url, { attribution: PAGE.map.tile_attribution, maxZoom: 19 }).addTo(map);
  }
  container.setAttribute("role", "region");
  container.setAttribute("aria-label", ariaLabel || t("map_label"));
  map.setView([16.0, 106.0], 5); // Viet Nam, until the boundaries or a point say better
  return map;
}

/**
 * Draw the boundaries (province outline, wards and communes) and fit the map to them,
 * or to `focus` ([lat, lon]) when given. The area `highlight` (a code) is drawn stronger.
 */
export async function drawAreas(map, { highlight, focus, focusZoom = 14 } = {}) {
  const collection = await areaBoundaries();
  const layer = L.geoJSON(collection, {
    style: (feature) => {
      const top = !feature.properties.parent_code;
      const strong = feature.properties.code === highlight;
      return {
        color: strong ? "#b45309" : top ? "#1e293b" : "#475569",
        weight: strong ? 3 : top ? 2.5 : 1,
        fillColor: strong ? "#fde68a" : "#94a3b8",
        fillOpacity: top ? 0 : strong ? 0.35 : 0.08,
        interactive: !top,
      };
    },
    onEachFeature: (feature, featureLayer) => {
      if (feature.properties.parent_code) {
        featureLayer.bindTooltip(el("span", {}, label({ vi: feature.properties.name_vi, en: feature.properties.name_en })),
          { sticky: true });
      }
    },
  }).addTo(map);
  layer.bringToBack();
  const area = highlight && layer.getLayers().find((l) => l.feature.properties.code === highlight);
  if (focus && area) {
    // The point inside its ward or commune: where it is, and whose area it is.
    map.fitBounds(area.getBounds().extend(focus), { padding: [12, 12] });
  } else if (focus) {
    map.setView(focus, focusZoom);
  } else if (collection.features.length) {
    map.fitBounds(layer.getBounds(), { padding: [8, 8] });
  }
  return layer;
}

/** A report as a circle marker in its state's colour; `popup` is an element (never HTML text). */
export function stateMarker(lat, lon, state, { popup, radius = 8 } = {}) {
  const marker = L.circleMarker([lat, lon], {
    radius,
    color: "#ffffff",
    weight: 2,
    fillColor: STATE_COLOURS[state] || "#334155",
    fillOpacity: 0.95,
  });
  if (popup) marker.bindPopup(popup);
  marker.bindTooltip(el("span", {}, stateLabel(state)));
  return marker;
}

/** The legend as a list next to the map (readable without seeing the colours). */
export function legend(states) {
  return el("ul", { class: "legend", "aria-label": t("legend_label") },
    states.map((state) => el("li", {},
      el("span", { class: `swatch state-${state}`, "aria-hidden": "true" }),
      stateLabel(state))));
}
