// Workflow actions as forms, built from the workflow table (GET /workflow) and the case's
// `allowed_actions`: the console offers exactly what the table lets this user do, with the
// fields the table names, and the server checks it all again.

import { api, ApiError, publicApi } from "./api.js";
import { PAGE, has, label, officeTimeToIso, t } from "./i18n.js";
import { el, errorText, notify } from "./ui.js";

let workflowPromise = null;
let agenciesPromise = null;
let categoriesPromise = null;

export function workflow() {
  workflowPromise ??= publicApi("/workflow");
  return workflowPromise;
}

export function agencies() {
  agenciesPromise ??= publicApi("/agencies");
  return agenciesPromise;
}

export function categories() {
  categoriesPromise ??= publicApi("/categories");
  return categoriesPromise;
}

/** The action a user most likely wants next in each state; its form starts open. */
const PRIMARY = {
  submitted: "assign",
  assigned: "accept",
  in_progress: "resolve",
  need_info: "resume",
  resolved: "close",
};

const FIELD_ORDER = ["agency_id", "decision", "reason", "duplicate_of", "priority", "rating",
  "due_at", "note", "photos"];
const PRIORITY_ORDER = ["low", "normal", "high", "urgent"];

function fieldLabel(field, action) {
  return t(has(`field_${field}_${action}`) ? `field_${field}_${action}` : `field_${field}`);
}

export function actionLabel(transition, user) {
  if (transition.name === "transfer" && user.role === "staff") return t("action_transfer_back");
  return label(transition.label);
}

/** The agencies for a picker, those answering for the case's area (or its parent) first. */
function agencyOptions(list, caseData, { exclude } = {}) {
  const areaCode = caseData.area && caseData.area.code;
  const usable = list.filter((a) => a.id !== exclude);
  const local = usable.filter((a) => areaCode && a.area_code === areaCode);
  const others = usable.filter((a) => !local.includes(a));
  const option = (a) => el("option", { value: a.id }, label(a.name));
  return [
    el("option", { value: "" }, t("choose_agency")),
    local.length ? el("optgroup", { label: t("agencies_for_area") }, local.map(option)) : null,
    el("optgroup", { label: t("agencies_all") }, others.map(option)),
  ];
}

/** Resolve what an operator typed as duplicate_of (a tracking code or an id) to a case id. */
export async function caseIdFor(text) {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const page = await api("/cases", { query: { q: value, page_size: 1 } });
  const found = page.items.find((item) => item.tracking_code === value.toUpperCase().replace(/\s+/g, ""));
  if (!found) throw new ApiError(422, { error: "validation_error", message: t("duplicate_not_found"),
    errors: { duplicate_of: [t("duplicate_not_found")] } });
  return found.id;
}

function widget(field, transition, caseData, ctx, id) {
  const choices = (transition.choices || {})[field];
  switch (field) {
    case "note":
      return el("textarea", { id, name: field, rows: 3, maxlength: 4000 });
    case "reason":
      if (choices) {
        return el("select", { id, name: field },
          el("option", { value: "" }, t("choose_reason")),
          choices.map((code) => el("option", { value: code }, PAGE.reject_reasons[code] || code)));
      }
      return el("input", { id, name: field, type: "text", maxlength: 500 });
    case "agency_id":
      return el("select", { id, name: field },
        agencyOptions(ctx.agencies, caseData,
          { exclude: transition.name === "transfer" && caseData.agency ? caseData.agency.id : null }));
    case "duplicate_of":
      return el("input", { id, name: field, type: "text", inputmode: "text", autocomplete: "off",
        placeholder: "PA-2611-7KQ3" });
    case "due_at":
      return el("input", { id, name: field, type: "datetime-local" });
    case "decision":
      return el("select", { id, name: field },
        (choices || ["grant", "refuse"]).map((code) => el("option", { value: code }, t(`decision_${code}`))));
    case "priority": {
      const current = PRIORITY_ORDER.indexOf(caseData.priority);
      return el("select", { id, name: field },
        (choices || PRIORITY_ORDER).filter((p) => PRIORITY_ORDER.indexOf(p) > current)
          .map((p) => el("option", { value: p }, PAGE.priorities[p] || p)));
    }
    case "rating":
      return el("select", { id, name: field },
        el("option", { value: "" }, t("rating_none")),
        (choices || []).map((code) => el("option", { value: code }, t(`rating_${code}`))));
    case "photos":
      return el("input", { id, name: field, type: "file", accept: "image/jpeg,image/png,image/webp,image/heic,image/heif",
        multiple: true });
    default:
      return el("input", { id, name: field, type: "text" });
  }
}

function fieldsOf(transition, user) {
  const conditional = new Map((transition.conditionally_required || []).map((r) => [r.field, r.condition]));
  const wanted = new Set([...transition.required_fields, ...transition.optional_fields, ...conditional.keys()]);
  // Agency staff hand a case back to triage only (guard back_to_triage_only): no agency field.
  const backOnly = (transition.guards || []).some((g) => g.guard === "back_to_triage_only"
    && (!g.parties || g.parties.includes("agency_staff")));
  if (backOnly && user.role === "staff") wanted.delete("agency_id");
  return FIELD_ORDER.filter((f) => wanted.has(f)).map((field) => ({
    field,
    required: transition.required_fields.includes(field),
    condition: conditional.get(field) || null,
  }));
}

/** One action as a disclosure with its form. */
function actionForm(transition, caseData, ctx) {
  const action = transition.name;
  const prefix = `act-${action}`;
  const status = el("p", { class: "notice", hidden: true });
  const specs = fieldsOf(transition, ctx.user);
  const category = ctx.categories.find((c) => c.code === (caseData.category && caseData.category.code));
  const rows = [];
  const inputs = {};
  for (const spec of specs) {
    const id = `${prefix}-${spec.field}`;
    const input = widget(spec.field, transition, caseData, ctx, id);
    let required = spec.required;
    if (spec.condition === "category.requires_after_photo") required = Boolean(category && category.requires_after_photo);
    if (required) {
      input.required = true;
      input.setAttribute("aria-required", "true");
    }
    const errorId = `${id}-error`;
    input.setAttribute("aria-describedby", errorId);
    const row = el("div", { class: "field" },
      el("label", { for: id }, fieldLabel(spec.field, action),
        required ? el("span", { class: "required" }, ` (${t("required")})`) : null),
      input,
      el("p", { id: errorId, class: "field-error", hidden: true }));
    if (spec.condition === "reason=duplicate") row.hidden = true;
    inputs[spec.field] = { input, row, spec };
    rows.push(row);
  }
  if (inputs.duplicate_of && inputs.reason) {
    inputs.reason.input.addEventListener("change", () => {
      const duplicate = inputs.reason.input.value === "duplicate";
      inputs.duplicate_of.row.hidden = !duplicate;
      inputs.duplicate_of.input.required = duplicate;
    });
  }
  const submit = el("button", { type: "submit", class: "primary" }, actionLabel(transition, ctx.user));
  const form = el("form", { class: "action-form", novalidate: true, "data-action": action },
    el("p", { class: "hint" }, label(transition.description)), rows, status, submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const { row } of Object.values(inputs)) {
      const message = row.querySelector(".field-error");
      message.hidden = true;
      message.textContent = "";
    }
    const missing = Object.values(inputs).filter(({ input, row }) => !row.hidden && input.required
      && (input.type === "file" ? input.files.length === 0 : !input.value.trim()));
    if (missing.length) {
      for (const { row } of missing) {
        const message = row.querySelector(".field-error");
        message.textContent = t("field_required");
        message.hidden = false;
      }
      missing[0].input.focus();
      return;
    }
    submit.disabled = true;
    notify(status, t("saving"));
    try {
      const body = { version: caseData.version };
      let files = [];
      for (const [field, { input, row }] of Object.entries(inputs)) {
        if (row.hidden) continue;
        if (field === "photos") {
          files = [...input.files];
        } else if (field === "agency_id") {
          if (input.value) body.agency_id = Number(input.value);
        } else if (field === "duplicate_of") {
          if (input.value.trim()) body.duplicate_of = await caseIdFor(input.value);
        } else if (field === "due_at") {
          if (input.value) body.due_at = officeTimeToIso(input.value);
        } else if (input.value.trim()) {
          body[field] = input.value.trim();
        }
      }
      const updated = await perform(caseData.id, action, body, files);
      notify(status, t("action_done", { action: actionLabel(transition, ctx.user) }), "success");
      ctx.onDone(updated, action, actionLabel(transition, ctx.user));
    } catch (error) {
      submit.disabled = false;
      if (error instanceof ApiError && error.code === "stale_version") {
        notify(status, t("stale_version"), "error");
        ctx.onStale();
        return;
      }
      for (const [field, messages] of Object.entries(error.errors || {})) {
        const target = inputs[field];
        if (!target) continue;
        const message = target.row.querySelector(".field-error");
        message.textContent = [].concat(messages).join(" ");
        message.hidden = false;
      }
      notify(status, errorText(error), "error");
    }
  });

  const open = ctx.open === action;
  return el("details", { class: "action", open, "data-action": action },
    el("summary", {}, actionLabel(transition, ctx.user)), form);
}

/** Run an action: JSON, or multipart when there are photos. Resolves to the updated case. */
export function perform(caseId, action, body, files = []) {
  const path = `/cases/${caseId}/actions/${action}`;
  if (!files.length) return api(path, { method: "POST", json: body });
  const form = new FormData();
  for (const [key, value] of Object.entries(body)) form.append(key, String(value));
  for (const file of files) form.append("photos", file, file.name);
  return api(path, { method: "POST", form });
}

/**
 * The actions panel for a case: a form per action in `allowed_actions` (table order).
 * ctx: {user, onDone(updatedCase, action, label), onStale(), only?: [action names], open?}.
 */
export async function actionsPanel(caseData, ctx) {
  const [table, agencyList, categoryList] = await Promise.all([workflow(), agencies(), categories()]);
  const byName = new Map(table.actions.map((a) => [a.name, a]));
  const allowed = caseData.allowed_actions.filter((name) => byName.has(name)
    && (!ctx.only || ctx.only.includes(name)));
  const full = { ...ctx, agencies: agencyList, categories: categoryList,
    open: ctx.open === undefined ? PRIMARY[caseData.state] : ctx.open };
  const headingId = `actions-heading-${caseData.id}`;
  return el("section", { class: "actions", "aria-labelledby": headingId },
    el("h2", { id: headingId }, t("actions_heading")),
    allowed.length
      ? allowed.map((name) => actionForm(byName.get(name), caseData, full))
      : el("p", { class: "muted" }, t("no_actions")));
}
