// The form control of a reference field: a combobox (WAI-ARIA 1.2, list autocomplete) that
// searches the referenced entity's list by its label field, so a user picks "Poetry corner"
// instead of copying an id from another page. A pasted id is still taken as it is. Where the
// referenced entity cannot be searched (its label is not text, or the caller may not read
// it) the control is a plain id box that says so.

import { api, problemText, query } from "./api.js";
import { h, replace } from "./dom.js";

// Enough to choose from while typing; a longer list means the text should be longer.
const OPTION_LIMIT = 10;
// Long enough to type a few letters before the list is searched.
const SEARCH_DELAY_MS = 250;
// The part of an id shown next to a label, to tell apart items of the same name: its end,
// since time-ordered ids (UUIDv7) of items made together share their start.
const SHORT_ID_LENGTH = 8;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ReferencePicker {
  /** The picker of reference field `field`, holding id `value`; `common` are the attributes
   *  every form control gets (id, name, aria-describedby…); `access`, when given, is the
   *  caller's (session.js), so a search it may not make is not offered. */
  constructor(field, value, common, access) {
    this.field = field;
    this.target = field.references;
    this.selected = null; // {id, label} of the item picked or loaded
    this.options = []; // the items the open list shows
    this.active = -1; // the index of the option the arrow keys are on
    this.controller = null; // aborts the search in flight when the text changes again
    this.timer = null;
    const id = common.id;
    this.listId = `${id}-options`;
    this.noteId = `${id}-picker-note`;
    this.input = h("input", {
      ...common,
      type: "text",
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": [common["aria-describedby"], this.noteId].filter(Boolean).join(" "),
    });
    this.list = h("ul", { id: this.listId, role: "listbox", class: "picker-options", hidden: true });
    this.note = h("p", { id: this.noteId, class: "help", "aria-live": "polite" });
    this.clearButton = field.required
      ? null
      : h(
          "button",
          { type: "button", class: "picker-clear", onclick: () => this.clear() },
          "Clear",
          h("span", { class: "visually-hidden" }, ` ${field.label}`),
        );
    this.element = h(
      "div",
      { class: "picker" },
      h("div", { class: "picker-row" }, this.input, this.clearButton),
      this.list,
      this.note,
    );
    const denied = access && !access.may(this.target, this.target.scopes.read);
    if (!this.target.search) {
      this.plain(`Paste the ${this.target.singular}'s id: ${this.target.singular} items have no text to search by.`);
    } else if (denied) {
      this.plain(`Paste the ${this.target.singular}'s id: ${access.denial(this.target, this.target.scopes.read)}`);
    } else {
      this.combobox();
    }
    if (value !== undefined && value !== null) {
      this.input.value = String(value);
      this.selected = { id: value, label: null };
      if (this.searching) this.showLabelOf(value);
    }
  }

  /** The value to send: the picked item's id, the id as typed, or undefined when empty. */
  read() {
    const text = this.input.value.trim();
    if (text === "") return { value: undefined };
    if (this.selected && text === this.shown(this.selected)) return { value: this.selected.id };
    if (this.field.type === "uuid" && !UUID.test(text)) {
      const how = this.searching ? `Choose a ${this.target.singular} from the list, or paste its id.` : "Enter an id.";
      return { error: how };
    }
    if (this.field.type === "integer") return { value: Number(text) };
    return { value: text };
  }

  // ------------------------------------------------------------ modes

  /** Searching by label: the ARIA combobox attributes and the keys that go with them. */
  combobox() {
    this.searching = true;
    const attrs = {
      role: "combobox",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "aria-controls": this.listId,
    };
    for (const [name, value] of Object.entries(attrs)) this.input.setAttribute(name, value);
    const { singular, label } = this.target;
    this.note.textContent = `Type part of a ${singular}'s ${label} and choose it, or paste its id.`;
    this.input.addEventListener("input", () => this.typed());
    this.input.addEventListener("keydown", (ev) => this.key(ev));
    this.input.addEventListener("blur", () => this.close());
    // Clicking an option must not take the focus (and so close the list) before it is picked.
    this.list.addEventListener("mousedown", (ev) => ev.preventDefault());
  }

  /** A plain id box, with `why` next to it. */
  plain(why) {
    this.searching = false;
    this.close();
    for (const name of ["role", "aria-autocomplete", "aria-expanded", "aria-controls", "aria-activedescendant"]) {
      this.input.removeAttribute(name);
    }
    this.note.textContent = why;
  }

  // ------------------------------------------------------------ searching

  typed() {
    if (!this.searching) return;
    this.selected = null;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.search(), SEARCH_DELAY_MS);
  }

  /** Lists the items whose label contains the text, newest request winning. */
  async search() {
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    const text = this.input.value.trim();
    const params = { [this.target.search]: text, limit: OPTION_LIMIT, sort: this.target.label_field };
    let response;
    try {
      response = await api("GET", `${this.target.path}${query(params)}`, { signal: controller.signal });
    } catch {
      return; // aborted while the body was read
    }
    if (controller.signal.aborted || !this.searching) return;
    if (response.status === 403) {
      this.plain(`Paste the ${this.target.singular}'s id: ${problemText(response)}`);
      return;
    }
    if (!response.ok) {
      this.note.textContent = problemText(response);
      this.close();
      return;
    }
    this.showOptions(response.body.items);
  }

  showOptions(items) {
    const key = this.target.primary_key;
    this.options = items.map((item) => ({ id: item[key], label: item[this.target.label_field] }));
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
    if (!this.options.length) {
      replace(this.list, h("li", { class: "picker-empty", role: "option", "aria-disabled": "true" }, "No match"));
      this.note.textContent = `No ${this.target.singular} matches “${this.input.value.trim()}”.`;
    } else {
      replace(
        this.list,
        this.options.map((option, index) =>
          h(
            "li",
            {
              id: `${this.listId}-${index}`,
              role: "option",
              "aria-selected": "false",
              "data-id": option.id,
              onclick: () => this.pick(index),
            },
            h("span", { class: "picker-label" }, option.label ?? "—"),
            h("span", { class: "picker-id" }, shortId(option.id)),
          ),
        ),
      );
      const count = this.options.length;
      const more = count === OPTION_LIMIT ? "; type more to narrow them" : "";
      const matches = `${count} ${count === 1 ? "match" : "matches"}${more}`;
      this.note.textContent = `${matches}. Arrow keys to choose, Enter to pick.`;
    }
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
    this.list.hidden = true;
    replace(this.list);
    this.options = [];
    this.active = -1;
    if (this.searching) this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  get isOpen() {
    return !this.list.hidden;
  }

  key(ev) {
    switch (ev.key) {
      case "ArrowDown":
      case "ArrowUp":
        ev.preventDefault();
        if (!this.isOpen) {
          this.search();
          return;
        }
        this.move(ev.key === "ArrowDown" ? 1 : -1);
        return;
      case "Enter":
        // With the list open Enter picks; closed, it submits the form as in any other field.
        if (this.isOpen) {
          ev.preventDefault();
          if (this.active >= 0) this.pick(this.active);
          else this.close();
        }
        return;
      case "Escape":
        // Closes the list, not the dialog around it.
        if (this.isOpen) {
          ev.preventDefault();
          ev.stopPropagation();
          this.close();
        }
        return;
      default:
    }
  }

  move(step) {
    if (!this.options.length) return;
    const count = this.options.length;
    this.active = this.active < 0 && step < 0 ? count - 1 : (this.active + step + count) % count;
    for (const [index, li] of [...this.list.children].entries()) {
      li.setAttribute("aria-selected", String(index === this.active));
    }
    const option = this.list.children[this.active];
    this.input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }

  pick(index) {
    this.selected = this.options[index];
    this.input.value = this.shown(this.selected);
    this.close();
    this.note.textContent = `Picked ${this.shown(this.selected)} (${this.selected.id}).`;
    this.input.focus();
  }

  clear() {
    this.selected = null;
    this.input.value = "";
    this.close();
    this.note.textContent = `No ${this.target.singular}: saved as empty.`;
    this.input.focus();
  }

  // ------------------------------------------------------------ the stored item

  /** The text the input shows for a picked item: its label, or its id when it has none. */
  shown(item) {
    const missing = item.label === null || item.label === undefined || item.label === "";
    return missing ? String(item.id) : String(item.label);
  }

  /** Replaces the stored id in the input by the label of the item it names (one read), unless
   *  the user has started typing meanwhile. */
  async showLabelOf(id) {
    const response = await api("GET", `${this.target.path}/${encodeURIComponent(id)}`);
    if (!response.ok || this.input.value !== String(id)) return;
    const label = response.body[this.target.label_field];
    this.selected = { id, label };
    this.input.value = this.shown(this.selected);
    this.input.title = String(id);
  }
}

function shortId(id) {
  const text = String(id);
  return text.length > SHORT_ID_LENGTH ? `…${text.slice(-SHORT_ID_LENGTH)}` : text;
}
