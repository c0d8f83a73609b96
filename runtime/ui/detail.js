// The detail panel of the open item: every field, its actions, the run history of each
// tracked action, and (in a second tab, where other entities refer to this one) the rows that
// refer to it.

import { api, problemText } from "./api.js";
import { append, h, replace, setStatus } from "./dom.js";
import { badge, dateTimeFormat, display, numberFormat } from "./display.js";
import { runItemAction } from "./actions.js";
import { confirmDelete, openForm } from "./editing.js";
import { referrerSections } from "./referrers.js";

// Enough runs to see a pattern; the API pages through the rest.
const HISTORY_LIMIT = 10;

export class Detail {
  constructor(page) {
    this.page = page;
    this.element = h("aside", { class: "tile detail", "aria-label": "Details", "data-testid": "detail" });
    this.busy = new Set(); // item ids with an action in progress
    this.etag = null; // the open item's version, for If-Match on delete
    this.itemStatus = null;
    this.tab = "fields"; // the tab shown, kept while the panel is redrawn
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
    // Another item opens on its fields; the same one, redrawn, keeps the tab it showed.
    if (id !== this.renderedId) this.tab = "fields";
    this.renderedId = id;
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
      this.tabbed(id, [
        list,
        e.actions.filter((a) => a.kind === "tracked").map((action) => this.historySection(action, id)),
      ]),
    );
  }

  /** The item's own `fields` and, where other entities refer to this one, the rows that do,
   *  as two tabs (WAI-ARIA tabs: the arrow keys, Home and End move between them). The rows
   *  are loaded when their tab is shown. */
  tabbed(id, fields) {
    if (!this.page.entity.referrers.length) return fields;
    const tabs = [
      { key: "fields", label: "Fields", content: () => fields },
      { key: "referrers", label: "Referred to by", content: () => referrerSections(this.page, id) },
    ];
    const buttons = [];
    const panels = [];
    const select = (index, moveFocus) => {
      this.tab = tabs[index].key;
      tabs.forEach((tab, i) => {
        const chosen = i === index;
        buttons[i].setAttribute("aria-selected", String(chosen));
        buttons[i].tabIndex = chosen ? 0 : -1;
        panels[i].hidden = !chosen;
        if (chosen && !panels[i].hasChildNodes()) append(panels[i], tab.content());
      });
      if (moveFocus) buttons[index].focus();
    };
    const onKey = (ev) => {
      const current = buttons.indexOf(ev.currentTarget);
      const moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: tabs.length - 1 };
      if (!(ev.key in moves)) return;
      ev.preventDefault();
      select((moves[ev.key] + tabs.length) % tabs.length, true);
    };
    tabs.forEach((tab, i) => {
      buttons.push(
        h(
          "button",
          {
            type: "button",
            role: "tab",
            id: `detail-tab-${tab.key}`,
            "aria-controls": `detail-panel-${tab.key}`,
            "data-tab": tab.key,
            onclick: () => select(i, false),
            onkeydown: onKey,
          },
          tab.label,
        ),
      );
      panels.push(
        h("div", {
          role: "tabpanel",
          id: `detail-panel-${tab.key}`,
          "aria-labelledby": `detail-tab-${tab.key}`,
          tabindex: "0",
          class: "tab-panel",
        }),
      );
    });
    const shown = tabs.findIndex((t) => t.key === this.tab);
    select(shown < 0 ? 0 : shown, false);
    return [h("div", { role: "tablist", "aria-label": "Item details", class: "tabs" }, buttons), panels];
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
