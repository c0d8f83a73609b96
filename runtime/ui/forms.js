// Forms generated from spec fields, in the page's one dialog. The server is the validator:
// the form only reads values, then shows the server's per-field messages next to the fields
// and its other problems on top, so the rules never live in two places.

import { problemText } from "./api.js";
import { append, h, replace } from "./dom.js";
import { ReferencePicker } from "./reference-picker.js";

/** Opens a form for `spec`: {title, fields, values, submitLabel, submit(form), cancel?, editing?,
 *  access?}. `submit` resolves to true when the dialog may close; `access` (the caller's, from
 *  session.js) spares a reference picker a search the caller may not make. */
export function showForm(dialog, spec) {
  new FieldForm(spec, dialog).open();
}

class FieldForm {
  constructor(spec, dialog) {
    this.spec = spec;
    this.dialog = dialog;
    this.controls = new Map();
    this.errors = new Map();
  }

  open() {
    const spec = this.spec;
    this.problem = h("div", { class: "form-error", role: "alert", tabindex: "-1", hidden: true });
    this.submitButton = h("button", { type: "submit", class: "primary" }, spec.submitLabel);
    this.form = h(
      "form",
      { novalidate: true, "aria-labelledby": "form-title" },
      h("h2", { id: "form-title" }, spec.title),
      this.problem,
    );
    for (const field of spec.fields) append(this.form, this.fieldRow(field));
    append(
      this.form,
      h(
        "div",
        { class: "form-actions" },
        h("button", { type: "button", onclick: () => this.close(true) }, "Cancel"),
        this.submitButton,
      ),
    );
    this.form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      this.clearErrors();
      this.submitButton.disabled = true;
      try {
        if (await spec.submit(this)) this.close(false);
      } finally {
        this.submitButton.disabled = false;
      }
    });
    // Escape closes the dialog without the Cancel button: that is a cancel too.
    this.dialog.onclose = () => {
      if (!this.done && spec.cancel) spec.cancel();
    };
    replace(this.dialog, this.form);
    this.dialog.showModal();
    const first = this.form.querySelector("input, select, textarea");
    if (first) first.focus();
  }

  close(cancelled) {
    this.done = !cancelled;
    this.dialog.close();
  }

  /** The constraints in words, so they are known before the server has to say so. */
  help(field) {
    const parts = [];
    if (field.description) parts.push(field.description);
    if (field.max_length !== undefined && field.min_length !== undefined) {
      parts.push(`${field.min_length} to ${field.max_length} characters.`);
    } else if (field.max_length !== undefined) parts.push(`Up to ${field.max_length} characters.`);
    else if (field.min_length !== undefined) parts.push(`At least ${field.min_length} characters.`);
    if (field.min !== undefined && field.max !== undefined) parts.push(`From ${field.min} to ${field.max}.`);
    else if (field.min !== undefined) parts.push(`At least ${field.min}.`);
    else if (field.max !== undefined) parts.push(`At most ${field.max}.`);
    if (field.pattern) parts.push(`Must match ${field.pattern}.`);
    if (field.type === "json") parts.push("JSON.");
    if (field.type === "datetime") parts.push("Your local time.");
    if (field.sensitive) {
      parts.push(this.spec.editing ? "Stored secret; leave blank to keep it." : "Stored secret; never shown again.");
    }
    return parts.join(" ");
  }

  fieldRow(field) {
    const id = `field-${field.name}`;
    const helpText = this.help(field);
    const helpId = `${id}-help`;
    const errorId = `${id}-error`;
    const describedBy = [helpText ? helpId : null, errorId].filter(Boolean).join(" ");
    const value = this.spec.values[field.name];
    const common = {
      id,
      name: field.name,
      "aria-describedby": describedBy,
      "aria-required": field.required ? "true" : false,
    };
    // A reference is picked by its label; the picker reads its own value (the id).
    const picker = field.references ? new ReferencePicker(field, value, common, this.spec.access) : null;
    const control = picker ? picker.input : this.control(field, value, common);
    const read = picker ? () => picker.read() : () => fromInput(field, control);
    this.controls.set(field.name, { field, control, read });
    const error = h("p", { class: "field-error", id: errorId, hidden: true });
    this.errors.set(field.name, error);
    const help = helpText ? h("p", { class: "help", id: helpId }, helpText) : null;
    if (field.type === "boolean" && !field.nullable) {
      return h(
        "div",
        { class: "field" },
        h("label", { class: "checkbox", for: id }, control, field.label),
        help,
        error,
      );
    }
    const required = field.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null;
    const shown = picker ? picker.element : control;
    return h("div", { class: "field" }, h("label", { for: id }, field.label, required), shown, help, error);
  }

  /** The input for a field's type, holding `value`. */
  control(field, value, common) {
    const empty = value === undefined || value === null;
    const input = (attrs) => h("input", Object.assign(attrs, common));
    let control;
    switch (field.type) {
      case "enum": {
        const blank = !field.required || empty ? h("option", { value: "" }, field.required ? "Choose…" : "—") : null;
        const options = field.values.map((v) => h("option", { value: v }, v));
        control = h("select", common, blank, options);
        control.value = empty ? "" : value;
        return control;
      }
      case "boolean":
        if (field.nullable) {
          control = h(
            "select",
            common,
            h("option", { value: "" }, "—"),
            h("option", { value: "true" }, "Yes"),
            h("option", { value: "false" }, "No"),
          );
          control.value = empty ? "" : String(value);
        } else {
          control = input({ type: "checkbox" });
          control.checked = Boolean(value);
        }
        return control;
      case "integer":
        control = input({ type: "number", step: "1", inputmode: "numeric" });
        break;
      case "float":
        control = input({ type: "number", step: "any", inputmode: "decimal" });
        break;
      case "text":
      case "json": {
        const attrs = { rows: field.type === "json" ? 4 : 3, spellcheck: field.type === "text" ? "true" : "false" };
        control = h("textarea", Object.assign(attrs, common));
        break;
      }
      case "datetime":
        control = input({ type: "datetime-local", step: "1" });
        break;
      case "date":
        control = input({ type: "date" });
        break;
      default:
        control = input({
          type: field.sensitive ? "password" : "text",
          autocomplete: field.sensitive ? "new-password" : "off",
        });
    }
    control.value = toInput(field, value);
    return control;
  }

  /** The body to send: every filled field (create), or only what changed (a merge patch
   *  against `original`). Undefined when a value cannot even be read (bad JSON, say). */
  collect(asPatch, original) {
    const body = {};
    let valid = true;
    for (const [name, { field, read: readControl }] of this.controls) {
      const read = readControl();
      if (read.error) {
        this.fieldError(name, read.error);
        valid = false;
        continue;
      }
      if (!asPatch) {
        if (read.value !== undefined) body[name] = read.value;
        continue;
      }
      if (field.sensitive) {
        if (read.value !== undefined) body[name] = read.value; // blank keeps the stored secret
        continue;
      }
      const before = original[name] === undefined ? null : original[name];
      const after = read.value === undefined ? null : read.value;
      if (JSON.stringify(before) !== JSON.stringify(after)) body[name] = after;
    }
    if (!valid) {
      this.focusFirstError();
      return undefined;
    }
    return body;
  }

  clearErrors() {
    this.problem.hidden = true;
    this.problem.replaceChildren();
    for (const [name, error] of this.errors) {
      error.hidden = true;
      error.textContent = "";
      this.controls.get(name).control.removeAttribute("aria-invalid");
    }
  }

  fieldError(name, message) {
    const error = this.errors.get(name);
    if (!error) return false;
    error.textContent = error.textContent ? `${error.textContent} ${message}` : message;
    error.hidden = false;
    this.controls.get(name).control.setAttribute("aria-invalid", "true");
    return true;
  }

  focusFirstError() {
    const invalid = this.form.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }

  /** Shows a problem+json answer: field violations by their fields, the rest on top. */
  showProblem(response) {
    const body = response.body || {};
    const unplaced = [];
    for (const violation of body.errors || []) {
      // `tags[2]` and `address.city` belong to the `tags` and `address` fields.
      const name = String(violation.field || "").split(/[.[]/)[0];
      if (!this.fieldError(name, violation.message)) unplaced.push(`${violation.field}: ${violation.message}`);
    }
    const placed = (body.errors || []).length > unplaced.length;
    if (!placed || unplaced.length) {
      const items = unplaced.map((u) => h("li", {}, u));
      const list = items.length ? h("ul", {}, items) : null;
      replace(this.problem, h("p", {}, placed ? "Some values need attention:" : problemText(response)), list);
      this.problem.hidden = false;
    }
    if (placed) this.focusFirstError();
    else this.problem.focus();
  }

  showConflict(message, reload) {
    replace(
      this.problem,
      h("p", { "data-testid": "conflict" }, message),
      h("button", { type: "button", onclick: reload }, "Reload current values"),
    );
    this.problem.hidden = false;
    this.problem.focus();
  }
}

/** A stored value as an input's text. */
function toInput(field, value) {
  if (value === undefined || value === null || field.sensitive) return "";
  if (field.type === "json") return JSON.stringify(value, null, 2);
  if (field.type === "datetime") {
    // datetime-local wants local wall time without a zone.
    const d = new Date(value);
    const pad = (n) => String(n).padStart(2, "0");
    const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    return `${date}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  return String(value);
}

/** An input's value as JSON: {value} (undefined when empty) or {error}. */
function fromInput(field, control) {
  if (field.type === "boolean") {
    if (control.type === "checkbox") return { value: control.checked };
    return { value: control.value === "" ? undefined : control.value === "true" };
  }
  // A number input reports what it cannot parse as empty; only its validity tells them apart.
  if ((field.type === "integer" || field.type === "float") && control.validity && control.validity.badInput) {
    return { error: field.type === "integer" ? "Enter a whole number." : "Enter a number." };
  }
  const text = control.value;
  if (text === "") return { value: undefined };
  switch (field.type) {
    case "integer":
    case "float":
      return { value: Number(text) };
    case "json":
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { error: "This is not valid JSON." };
      }
    case "datetime": {
      const time = new Date(text);
      return Number.isNaN(time.getTime()) ? { error: "Enter a date and time." } : { value: time.toISOString() };
    }
    default:
      return { value: text };
  }
}
