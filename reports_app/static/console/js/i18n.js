// The page's language and texts: the server renders them into #page-data (one dictionary,
// reports_app/console/text.py), so scripts and templates always say the same thing.

export const PAGE = JSON.parse(document.getElementById("page-data").textContent);
export const LANG = PAGE.lang;
const LOCALE = LANG === "vi" ? "vi-VN" : "en-GB";

/** The text for `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  let text = PAGE.text[key];
  if (text === undefined) {
    console.error("missing text", key);
    text = key;
  }
  for (const [name, value] of Object.entries(vars || {})) {
    text = text.replaceAll(`{${name}}`, String(value));
  }
  return text;
}

/** Whether the dictionary has `key` (for optional, more specific texts). */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(PAGE.text, key);
}

/** A {vi, en} pair, or an object with name_vi / name_en, in the page's language. */
export function label(value) {
  if (!value) return "";
  if (typeof value === "string") return value;
  if (value[LANG] !== undefined) return value[LANG];
  if (value.name) return label(value.name);
  return value[`name_${LANG}`] ?? value.vi ?? value.name_vi ?? "";
}

export function stateLabel(state) {
  return PAGE.states[state] ?? state;
}

const dateTimeFormat = new Intl.DateTimeFormat(LOCALE, {
  timeZone: PAGE.timezone, day: "2-digit", month: "2-digit", year: "numeric",
  hour: "2-digit", minute: "2-digit", hour12: false,
});
const dateFormat = new Intl.DateTimeFormat(LOCALE, {
  timeZone: PAGE.timezone, day: "2-digit", month: "2-digit", year: "numeric",
});
const numberFormat = new Intl.NumberFormat(LOCALE);
const percentFormat = new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: 1 });

/** A date and time in the office's time zone, e.g. 20/11/2026 14:30. */
export function formatDateTime(iso) {
  return iso ? dateTimeFormat.format(new Date(iso)) : "—";
}

export function formatDate(iso) {
  return iso ? dateFormat.format(new Date(iso)) : "—";
}

export function formatNumber(value) {
  return value === null || value === undefined ? "—" : numberFormat.format(value);
}

/** A rate given as a fraction (0.953 → 95,3 %); null means nothing to divide by. */
export function formatPercent(rate) {
  return rate === null || rate === undefined ? "—" : percentFormat.format(rate);
}

/** Minutes as "2 h 05 min" in words of the page's language. */
export function formatMinutes(minutes) {
  const total = Math.abs(Math.round(minutes));
  const hours = Math.floor(total / 60);
  const mins = total % 60;
  if (hours === 0) return t("duration_minutes", { m: mins });
  if (mins === 0) return t("duration_hours", { h: numberFormat.format(hours) });
  return t("duration_hours_minutes", { h: numberFormat.format(hours), m: mins });
}

/** Time left on a deadline: working time on the deadline track, clock time when immediate. */
export function formatRemaining(minutes, track) {
  const span = formatMinutes(minutes);
  if (minutes < 0) return t("remaining_late", { span });
  return t(track === "immediate" ? "remaining_clock" : "remaining_working", { span });
}

/** The UTC offset of the office's time zone at `date`, e.g. "+07:00". */
export function zoneOffset(date) {
  const part = new Intl.DateTimeFormat("en-US", { timeZone: PAGE.timezone, timeZoneName: "longOffset" })
    .formatToParts(date).find((p) => p.type === "timeZoneName");
  const match = /GMT([+-]\d{2}:\d{2})/.exec(part ? part.value : "");
  return match ? match[1] : "+00:00";
}

/** A datetime-local value read as office time, as an ISO 8601 instant with its offset. */
export function officeTimeToIso(value) {
  if (!value) return null;
  const seconds = value.length === 16 ? `${value}:00` : value;
  return `${seconds}${zoneOffset(new Date(`${seconds}Z`))}`;
}
