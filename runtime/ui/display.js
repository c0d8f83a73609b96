// How stored values look on the page: in the user's locale, secrets never shown, statuses as
// coloured badges so success and failure read at a glance.

import { h } from "./dom.js";

export const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
export const numberFormat = new Intl.NumberFormat();

export function timeAgo(iso) {
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 45) return "just now";
  const units = { day: 86400, hour: 3600, minute: 60 };
  for (const [unit, size] of Object.entries(units)) {
    if (seconds >= size) {
      const n = Math.floor(seconds / size);
      return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
    }
  }
  return "just now";
}

// Values of any spec's status-like enums, by the colour they deserve.
const TONES = {
  "tone-ok": ["success", "succeeded", "active", "ok", "true", "done", "completed", "paid", "shipped", "delivered"],
  "tone-bad": ["failed", "failure", "error", "false", "cancelled", "canceled", "rejected"],
  "tone-busy": ["syncing", "running", "in_progress", "processing"],
  "tone-wait": ["pending", "queued", "waiting", "draft"],
};

function tone(value) {
  const v = String(value).toLowerCase();
  const found = Object.entries(TONES).find(([, values]) => values.includes(v));
  return found ? found[0] : "";
}

export function badge(value, label) {
  return h("span", { class: `badge ${tone(value)}` }, label === undefined ? String(value) : label);
}

/** A field's value as a node, for the table and (`full`) the detail panel. */
export function display(field, value, full) {
  if (field.sensitive) {
    // The API never returns secrets; a required one is always set.
    return h("span", { class: "secret" }, field.required ? "set (hidden)" : "hidden (write-only)");
  }
  if (value === null || value === undefined) return h("span", { class: "placeholder", "aria-label": "empty" }, "—");
  if (field.references) {
    // The referenced item, open on its entity's page.
    const href = `/ui${field.references.path}#${encodeURIComponent(value)}`;
    return h("a", { href, title: `Open this ${field.references.entity}`, "data-reference": field.name }, String(value));
  }
  switch (field.type) {
    case "enum":
      return badge(value);
    case "boolean":
      return badge(value, value ? "Yes" : "No");
    case "datetime":
      return h("time", { datetime: value, title: value }, dateTimeFormat.format(new Date(value)));
    case "integer":
    case "float":
      return document.createTextNode(numberFormat.format(value));
    case "json":
      return full ? h("pre", {}, JSON.stringify(value, null, 2)) : document.createTextNode(JSON.stringify(value));
    default:
      return document.createTextNode(String(value));
  }
}
