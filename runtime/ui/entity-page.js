// One entity's page: the statistics tile, the table and the detail panel, the state they
// share (the open item, kept in the URL, and what the caller may do), and the dialog their
// forms open in.

import { query } from "./api.js";
import { h, replace } from "./dom.js";
import { runCollectionAction } from "./actions.js";
import { Detail } from "./detail.js";
import { openForm } from "./editing.js";
import { StatsTile } from "./overview.js";
import { actionScope } from "./session.js";
import { Table } from "./table.js";

// Scheduled runs change rows while nobody clicks: the visible page is refreshed this often.
const REFRESH_MS = 15 * 1000;

export class EntityPage {
  constructor(entity, main, access) {
    this.entity = entity;
    this.main = main;
    this.access = access;
    this.fields = new Map(entity.fields.map((f) => [f.name, f]));
    this.labelField = this.fields.get(entity.label_field);
    // The open item lives in the URL fragment, so a link can point at it.
    const hash = window.location.hash;
    this.selectedId = hash.length > 1 ? decodeURIComponent(hash.slice(1)) : null;
    this.table = new Table(this, new URLSearchParams(window.location.search));
    this.stats = new StatsTile(this);
    this.detail = new Detail(this);
  }

  /** How headings and messages name an item: its label field, else the kind and key. */
  label(item) {
    const value = item && item[this.labelField.name];
    const missing = value === null || value === undefined || value === "";
    return missing ? `${this.entity.singular} ${item[this.entity.primary_key]}` : String(value);
  }

  /** A control's `disabled` and `title` for something that needs scope `required`: usable, or
   *  greyed out with the scope it needs. */
  permit(required, title) {
    const denial = this.access.denial(this.entity, required);
    return { disabled: Boolean(denial), title: denial || title || false };
  }

  /** The same for running `action`. */
  permitAction(action) {
    return this.permit(actionScope(this.entity, action), action.summary);
  }

  itemPath(id) {
    return `${this.entity.path}/${encodeURIComponent(id)}`;
  }

  start() {
    const e = this.entity;
    this.collectionStatus = h("p", {
      class: "status-line",
      role: "status",
      "aria-live": "polite",
      id: "collection-status",
    });
    this.collectionResult = h("div");
    const collectionActionButton = (action) =>
      h(
        "button",
        {
          type: "button",
          "data-action": action.name,
          ...this.permitAction(action),
          onclick: (ev) => runCollectionAction(this, action, ev.currentTarget),
        },
        action.label,
      );
    const newButton = h(
      "button",
      { type: "button", class: "primary", ...this.permit(e.scopes.write), onclick: () => openForm(this, null) },
      `New ${e.singular}`,
    );
    const downloadButton = h(
      "button",
      {
        type: "button",
        "data-testid": "download-csv",
        title: "Every item the filters match, in this order, as a CSV file",
        onclick: (ev) => this.table.download(ev.currentTarget, this.collectionStatus),
      },
      "Download CSV",
    );
    const toolbar = h(
      "div",
      { class: "toolbar" },
      e.actions.filter((a) => a.scope === "collection").map(collectionActionButton),
      downloadButton,
      newButton,
    );
    const tableTile = this.table.tile(toolbar, [this.collectionStatus, this.collectionResult]);
    this.dialog = h("dialog", { "aria-labelledby": "form-title" });
    replace(this.main, h("div", { class: "bento" }, this.stats.element, tableTile, this.detail.element), this.dialog);
    this.table.renderHead();
    this.detail.renderEmpty();
    this.stats.load();
    this.table.load();
    if (this.selectedId) this.detail.load(this.selectedId, false);
    // A link to another item of this page (a self-reference) changes only the fragment.
    this.onHashChange = () => {
      const id = decodeURIComponent(window.location.hash.slice(1));
      if (id && id !== this.selectedId) this.select(id, true);
    };
    window.addEventListener("hashchange", this.onHashChange);
    this.timer = setInterval(() => {
      if (document.visibilityState === "visible" && !this.dialog.open) {
        this.stats.load();
        this.table.load();
      }
    }, REFRESH_MS);
  }

  /** Stops refreshing: the page is being taken down (signed out). */
  stop() {
    clearInterval(this.timer);
    window.removeEventListener("hashchange", this.onHashChange);
  }

  /** Opens item `id` in the detail panel; `moveFocus` when the keyboard asked for it. */
  select(id, moveFocus) {
    this.selectedId = id;
    this.syncUrl();
    this.table.markSelected(id);
    this.detail.load(id, moveFocus);
  }

  /** Puts the view in the address bar without a history entry per click. */
  syncUrl() {
    const fragment = this.selectedId ? `#${encodeURIComponent(this.selectedId)}` : "";
    window.history.replaceState(null, "", `${window.location.pathname}${query(this.table.urlParams())}${fragment}`);
  }

  /** Reloads what an action may have changed: the page, the statistics, the open item. */
  refresh() {
    this.table.load();
    this.stats.load();
    if (this.selectedId) this.detail.load(this.selectedId, false);
  }
}
