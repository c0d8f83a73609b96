// The detail panel of the open item: every field, its actions, and the run history of each
// tracked action.

import { api, problemText } from "./api.js";
import { append, h, replace, setStatus } from "./dom.js";
import { badge, dateTimeFormat, display, numberFormat } from "./display.js";
import { runItemAction } from "./actions.js";
import { confirmDelete, openForm } from "./editing.js";

// Enough runs to see a pattern; the API pages through the rest.
const HISTORY_LIMIT = 10;

export class Detail {
  constructor(page) {
    this.page = page;
    this.element = h("aside", { class: "tile detail", "aria-label": "Details", "data-testid": "detail" });
    this.busy = new Set(); // item ids with an action in progress
    this.etag = null; // the open item's version, for If-Match on delete
    this.itemStatus = null;
  }

  renderEmpty() {
    const e = this.page.entity;
    const history = e.actions.some((a) => a.kind === "tracked") ? ", its run history" : "";
    replace(
      this.element,
      h("h2", {}, "Details"),
      h("p", { class: "placeholder" }, `Select a ${e.singular} to see every field${history} and its actions.`),
    );
  }

  async load(id, moveFocus) {
    const response = await api("GET", this.page.itemPath(id));
    if (id !== this.page.selectedId) return; // another row was selected meanwhile
    if (!response.ok) {
      replace(this.element, h("h2", {}, "Details"), h("p", { role: "alert" }, problemText(response)));
      return;
    }
    const item = response.body;
    this.etag = response.headers.get("ETag");
    this.render(item);
    if (moveFocus) this.element.querySelector("h2").focus();
  }

  render(item) {
    const page = this.page;
    const e = page.entity;
    const id = item[e.primary_key];
    const statusField = e.tracking ? page.fields.get(e.tracking.status) : null;
    this.status = h("p", {
      class: "status-line",
      role: "status",
      "aria-live": "polite",
      "data-testid": "action-status",
    });
    this.result = h("div");
    // What the last action on this item said stays visible while the panel is redrawn.
    if (this.itemStatus && this.itemStatus.id === id) {
      setStatus(this.status, this.itemStatus.text, this.itemStatus.kind);
      if (this.itemStatus.result) append(this.result, this.itemStatus.result);
    }
    const list = h("dl", { class: "fields" });
    for (const field of e.fields) {
      append(
        list,
        h("dt", {}, field.label),
        h("dd", { "data-field": field.name }, display(field, item[field.name], true)),
      );
    }
    const actionButton = (action) =>
      h(
        "button",
        {
          type: "button",
          class: action.kind === "tracked" ? "primary" : false,
          "data-action": action.name,
          ...page.permitAction(action),
          ...(this.busy.has(id) ? { disabled: true } : {}),
          onclick: (ev) => runItemAction(page, action, item, ev.currentTarget),
        },
        action.label,
      );
    const write = page.permit(e.scopes.write);
    replace(
      this.element,
      h(
        "div",
        { class: "detail-head" },
        h("h2", { tabindex: "-1", id: "detail-title" }, page.label(item)),
        statusField ? display(statusField, item[statusField.name], true) : null,
      ),
      h(
        "div",
        { class: "toolbar" },
        e.actions.filter((a) => a.scope === "item").map(actionButton),
        h("button", { type: "button", ...write, onclick: () => openForm(page, item) }, "Edit"),
        h("button", { type: "button", class: "danger", ...write, onclick: () => confirmDelete(page, item) }, "Delete"),
      ),
      this.status,
      this.result,
      list,
      e.actions.filter((a) => a.kind === "tracked").map((action) => this.historySection(action, id)),
    );
  }

  /** The latest runs of a tracked action on item `id`, loaded after the panel is shown. */
  historySection(action, id) {
    const section = h("section", {
      "aria-label": `${action.label} history`,
      class: "history",
      "data-history": action.name,
    });
    const body = h("tbody");
    const columns = ["Status", "Trigger", "Queued", "Duration", "Message"];
    const message = (text, attrs) => h("tr", {}, h("td", Object.assign({ colspan: columns.length }, attrs), text));
    const headings = columns.map((t) => h("th", { scope: "col" }, t));
    const head = h("thead", {}, h("tr", {}, headings));
    append(
      section,
      h("h3", {}, `${action.label} history`),
      h("div", { class: "table-wrap" }, h("table", {}, head, body)),
    );
    const load = async () => {
      const path = `${action.history.replace("{id}", encodeURIComponent(id))}?limit=${HISTORY_LIMIT}`;
      const response = await api("GET", path);
      if (!response.ok) {
        replace(body, message(problemText(response), { role: "alert" }));
        return;
      }
      const runs = response.body.items;
      if (!runs.length) {
        replace(body, message(`No ${action.label.toLowerCase()} runs yet.`, { class: "empty" }));
        return;
      }
      replace(
        body,
        runs.map((run) =>
          h(
            "tr",
            { "data-run": run.id },
            h("td", {}, badge(run.status)),
            // A retry says which attempt it is; the first attempt needs no note.
            h("td", {}, run.trigger.replace("_", " ") + (run.attempt > 1 ? ` · attempt ${run.attempt}` : "")),
            h(
              "td",
              {},
              h(
                "time",
                { datetime: run.queued_at, title: run.queued_at },
                dateTimeFormat.format(new Date(run.queued_at)),
              ),
            ),
            h("td", { class: "num" }, run.duration_ms === null ? "—" : `${numberFormat.format(run.duration_ms)} ms`),
            h("td", { class: "message" }, run.message || ""),
          ),
        ),
      );
      const total = response.body.total;
      if (total > runs.length) {
        append(body, message(`Latest ${runs.length} of ${total} runs.`, { class: "placeholder" }));
      }
    };
    load();
    return section;
  }

  /** Reports on an item's action; shown whenever that item's panel is drawn. */
  setItemStatus(id, text, kind, result) {
    this.itemStatus = { id, text, kind, result: result || null };
    if (this.page.selectedId === id && this.status) {
      setStatus(this.status, text, kind);
      replace(this.result, result || null);
    }
  }
}
