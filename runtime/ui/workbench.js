// The entity-spec workbench. One generic page: everything about the entities (fields,
// constraints, filters, sortable columns, actions) comes from /ui/workbench.json, which the
// macro generated from the spec, and all data goes through the service's public HTTP API,
// like any other client's. Plain DOM, no framework, no build step. Text from the server is
// only ever put into the page with textContent, never parsed as HTML.
"use strict";

(() => {
  const PAGE_SIZE = 20;
  const POLL_MS = 500;
  const POLL_LIMIT_MS = 5 * 60 * 1000;
  // Scheduled runs change rows while nobody clicks: the visible page is refreshed this often.
  const REFRESH_MS = 15 * 1000;

  // ---------------------------------------------------------------- DOM and HTTP helpers

  /** Creates an element: h("p", {class: "x"}, "text", child). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, String(value));
    }
    return append(el, ...children);
  }

  /** Appends nodes, text, and arrays of them; null, undefined and false are skipped. */
  function append(el, ...children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function replace(el, ...children) {
    el.replaceChildren();
    return append(el, ...children);
  }

  /** A response: status, headers and the parsed JSON body (null when there is none). */
  async function api(method, path, options = {}) {
    const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    const init = { method, headers };
    if (options.body !== undefined) {
      headers["Content-Type"] = options.contentType || "application/json";
      init.body = JSON.stringify(options.body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      return { status: 0, ok: false, headers: new Headers(), body: { title: "The service cannot be reached", detail: String(error) } };
    }
    const text = await response.text();
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch (_) {
        body = { detail: text };
      }
    }
    return { status: response.status, ok: response.ok, headers: response.headers, body };
  }

  /** The sentence to show for a failed request (problem+json `detail`, else its title). */
  function problemText(response) {
    const body = response.body || {};
    return body.detail || body.title || `The request failed with status ${response.status}.`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== "" && value !== null && value !== undefined) search.set(key, value);
    }
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  // ---------------------------------------------------------------- formatting

  const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const numberFormat = new Intl.NumberFormat();

  function timeAgo(iso) {
    const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 45) return "just now";
    const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
    for (const [unit, size] of units) {
      if (seconds >= size) {
        const n = Math.floor(seconds / size);
        return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
      }
    }
    return "just now";
  }

  /** Badge colour for status-like values, so success/failure read at a glance. */
  function tone(value) {
    const v = String(value).toLowerCase();
    if (["success", "succeeded", "active", "ok", "true", "done", "completed", "paid", "shipped", "delivered"].includes(v)) return "tone-ok";
    if (["failed", "failure", "error", "false", "cancelled", "canceled", "rejected"].includes(v)) return "tone-bad";
    if (["syncing", "running", "in_progress", "processing"].includes(v)) return "tone-busy";
    if (["pending", "queued", "waiting", "draft"].includes(v)) return "tone-wait";
    return "";
  }

  function badge(value, label) {
    return h("span", { class: `badge ${tone(value)}` }, label === undefined ? String(value) : label);
  }

  /** A field's value as a node, for the table and the detail panel. */
  function display(field, value, full) {
    if (field.sensitive) {
      // The API never returns secrets; a required one is always set.
      return h("span", { class: "secret" }, field.required ? "set (hidden)" : "hidden (write-only)");
    }
    if (value === null || value === undefined) return h("span", { class: "placeholder", "aria-label": "empty" }, "—");
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

  // ---------------------------------------------------------------- boot

  let meta = null;

  async function boot() {
    const response = await api("GET", "/ui/workbench.json");
    const main = document.getElementById("main");
    if (!response.ok) {
      replace(main, h("p", { role: "alert" }, `The workbench description could not be loaded: ${problemText(response)}`));
      return;
    }
    meta = response.body;
    const path = window.location.pathname.replace(/\/+$/, "");
    const entity = meta.entities.find((e) => `/ui${e.path}` === path);
    renderNav(entity);
    if (entity) {
      document.title = `${entity.title} · Workbench`;
      new EntityWorkbench(entity, main).start();
    } else {
      document.title = "Workbench";
      renderIndex(main);
    }
  }

  function renderNav(current) {
    const nav = document.getElementById("entity-nav");
    replace(
      nav,
      meta.entities.map((e) =>
        h("a", { href: `/ui${e.path}`, "aria-current": current === e ? "page" : false }, e.title),
      ),
    );
  }

  function renderIndex(main) {
    const cards = h("div", { class: "cards" });
    replace(
      main,
      h("h1", {}, "Workbench"),
      h("p", { class: "lead" }, "Every entity of the spec, with its data, statistics and actions."),
      cards,
    );
    for (const entity of meta.entities) {
      const total = h("p", { class: "stat-sub" }, "…");
      append(
        cards,
        h(
          "section",
          { class: "tile", "aria-label": entity.title },
          h("h2", {}, h("a", { href: `/ui${entity.path}` }, entity.title)),
          h("p", {}, entity.description || `The ${entity.singular} collection at ${entity.path}.`),
          total,
        ),
      );
      api("GET", `${entity.path}/stats`).then((response) => {
        total.textContent = response.ok ? `${numberFormat.format(response.body.total)} in all` : problemText(response);
      });
    }
    main.focus();
  }

  // ---------------------------------------------------------------- one entity

  class EntityWorkbench {
    constructor(entity, main) {
      this.entity = entity;
      this.main = main;
      this.fields = new Map(entity.fields.map((f) => [f.name, f]));
      this.labelField = this.fields.get(entity.label_field);
      const params = new URLSearchParams(window.location.search);
      this.filters = {};
      for (const field of this.filterFields()) {
        const value = params.get(field.name);
        if (value) this.filters[field.name] = value;
      }
      // The URL leaves the default sort out.
      this.defaultSort = entity.default_sort;
      const sort = params.get("sort");
      this.sort = sort && entity.sortable.includes(sort.replace(/^-/, "")) ? sort : this.defaultSort;
      this.cursors = []; // cursors of the pages before the current one (for "Previous")
      this.cursor = null;
      this.rows = [];
      // The open item lives in the URL fragment, so a link can point at it.
      this.selectedId = window.location.hash.length > 1 ? decodeURIComponent(window.location.hash.slice(1)) : null;
      this.busy = new Set(); // item ids with an action in progress
    }

    /** Filters offered above the table (workbench.json says which): enum and boolean selects, text for strings. */
    filterFields() {
      return this.entity.filters.map((name) => this.fields.get(name));
    }

    label(item) {
      const value = item && item[this.labelField.name];
      return value === null || value === undefined || value === "" ? `${this.entity.singular} ${item[this.entity.primary_key]}` : String(value);
    }

    itemPath(id) {
      return `${this.entity.path}/${encodeURIComponent(id)}`;
    }

    start() {
      const e = this.entity;
      this.statsTile = h("section", { class: "tile stats", "aria-label": `${e.title} overview`, "data-testid": "stats" });
      this.tbody = h("tbody");
      this.thead = h("thead");
      this.pagerText = h("span", { "aria-live": "polite" });
      this.prevButton = h("button", { type: "button", onclick: () => this.previousPage() }, "← Previous");
      this.nextButton = h("button", { type: "button", onclick: () => this.nextPage() }, "Next →");
      this.collectionStatus = h("p", { class: "status-line", role: "status", "aria-live": "polite", id: "collection-status" });
      this.collectionResult = h("div");
      this.detail = h("aside", { class: "tile detail", "aria-label": "Details", "data-testid": "detail" });
      const collectionActions = e.actions.filter((a) => a.scope === "collection");
      const tableTile = h(
        "section",
        { class: "tile table-tile", "aria-labelledby": "table-title" },
        h(
          "div",
          { class: "tile-head" },
          h("h1", { id: "table-title" }, e.title),
          h(
            "div",
            { class: "toolbar" },
            collectionActions.map((action) =>
              h("button", { type: "button", "data-action": action.name, title: action.summary || false, onclick: (ev) => this.runCollectionAction(action, ev.currentTarget) }, action.label),
            ),
            h("button", { type: "button", class: "primary", onclick: () => this.openForm(null) }, `New ${e.singular}`),
          ),
        ),
        e.description ? h("p", { class: "lead" }, e.description) : null,
        this.renderFilters(),
        this.collectionStatus,
        this.collectionResult,
        h(
          "div",
          { class: "table-wrap" },
          h("table", { "aria-labelledby": "table-title", "aria-describedby": "table-help" }, this.thead, this.tbody),
        ),
        h("p", { id: "table-help", class: "visually-hidden" }, "Use the arrow keys to move between rows and Enter to open one."),
        h("nav", { class: "pager", "aria-label": "Pages" }, this.prevButton, this.pagerText, this.nextButton),
      );
      this.dialog = h("dialog", { "aria-labelledby": "form-title" });
      replace(this.main, h("div", { class: "bento" }, this.statsTile, tableTile, this.detail), this.dialog);
      this.renderHead();
      this.renderEmptyDetail();
      this.loadStats();
      this.loadPage();
      if (this.selectedId) this.loadDetail(this.selectedId, false);
      setInterval(() => {
        if (document.visibilityState === "visible" && !this.dialog.open) {
          this.loadStats();
          this.loadPage();
        }
      }, REFRESH_MS);
    }

    // ------------------------------------------------------------ statistics

    async loadStats() {
      const response = await api("GET", `${this.entity.path}/stats`);
      if (!response.ok) {
        replace(this.statsTile, h("p", { role: "alert" }, problemText(response)));
        return response;
      }
      this.renderStats(response.body);
      return response;
    }

    renderStats(stats) {
      const e = this.entity;
      const tiles = [];
      const activeName = e.tracking && e.tracking.active;
      const active = activeName && stats.counts[activeName];
      tiles.push(
        h(
          "div",
          { class: "stat stat-total" },
          h("h2", {}, `All ${e.title.toLowerCase()}`),
          h("div", { class: "stat-value", "data-testid": "stat-total" }, numberFormat.format(stats.total)),
          active ? h("div", { class: "stat-sub" }, `${numberFormat.format(active.true)} active · ${numberFormat.format(active.false)} inactive`) : null,
        ),
      );
      for (const name of e.grouped) {
        if (name === activeName) continue;
        const field = this.fields.get(name);
        const counts = stats.counts[name] || {};
        const values = field.type === "boolean" ? ["true", "false"] : field.values.slice();
        if (field.nullable) values.push("null");
        const max = Math.max(1, ...values.map((v) => counts[v] || 0));
        const list = h("ul", { class: "bars" });
        for (const value of values) {
          const count = counts[value] || 0;
          const fill = h("span");
          fill.style.width = `${(100 * count) / max}%`;
          const shown = value === "null" ? "not set" : field.type === "boolean" ? (value === "true" ? "Yes" : "No") : value;
          append(
            list,
            h(
              "li",
              {},
              h("span", {}, value === "null" ? shown : badge(value, shown)),
              h("span", { class: "bar", "aria-hidden": "true" }, fill),
              h("span", { class: "count" }, numberFormat.format(count)),
            ),
          );
        }
        tiles.push(h("div", { class: `stat${values.length > 4 ? " stat-wide" : ""}` }, h("h2", {}, `By ${field.label.toLowerCase()}`), list));
      }
      if (stats.runs) {
        const runs = stats.runs;
        const failures = h("ul", { class: "failures" });
        for (const run of runs.recent_failures.slice(0, 3)) {
          const name = h("button", { type: "button", class: "link", onclick: () => this.select(run.item_id, true) }, run.item_id.slice(0, 8));
          this.fillItemLabel(run.item_id, name);
          append(
            failures,
            h(
              "li",
              {},
              h("span", {}, name, " · ", h("time", { datetime: run.finished_at || run.queued_at }, timeAgo(run.finished_at || run.queued_at))),
              h("span", { class: "message", title: run.message || "failed" }, run.message || "failed"),
            ),
          );
        }
        tiles.push(
          h(
            "div",
            { class: "stat stat-wide" },
            h("h2", {}, "Recent failures"),
            runs.recent_failures.length ? failures : h("p", { class: "stat-sub" }, "No failed runs."),
            h("div", { class: "stat-sub" }, `${runs.queued} queued · ${runs.running} running`),
          ),
        );
      }
      replace(this.statsTile, tiles);
    }

    async fillItemLabel(id, el) {
      const known = this.rows.find((r) => r[this.entity.primary_key] === id);
      if (known) {
        el.textContent = this.label(known);
        return;
      }
      const response = await api("GET", this.itemPath(id));
      if (response.ok) el.textContent = this.label(response.body);
    }

    // ------------------------------------------------------------ filters and table

    renderFilters() {
      const form = h("form", { class: "filters", role: "search", "aria-label": `Filter ${this.entity.title.toLowerCase()}`, onsubmit: (ev) => ev.preventDefault() });
      for (const field of this.filterFields()) {
        const id = `filter-${field.name}`;
        let control;
        if (field.type === "enum" || field.type === "boolean") {
          const options = field.type === "enum" ? field.values.map((v) => [v, v]) : [["true", "Yes"], ["false", "No"]];
          control = h("select", { id, name: field.name }, h("option", { value: "" }, "Any"), options.map(([value, text]) => h("option", { value }, text)));
          control.value = this.filters[field.name] || "";
          control.addEventListener("change", () => this.setFilter(field.name, control.value));
        } else {
          control = h("input", { id, name: field.name, type: "search", placeholder: "equals…", autocomplete: "off" });
          control.value = this.filters[field.name] || "";
          let timer = null;
          control.addEventListener("input", () => {
            clearTimeout(timer);
            timer = setTimeout(() => this.setFilter(field.name, control.value.trim()), 300);
          });
        }
        append(form, h("label", { for: id }, field.label, control));
      }
      append(
        form,
        h("button", {
          type: "button",
          onclick: () => {
            for (const el of form.querySelectorAll("select, input")) el.value = "";
            this.filters = {};
            this.resetPaging();
          },
        }, "Clear filters"),
      );
      return form;
    }

    setFilter(name, value) {
      if (value) this.filters[name] = value;
      else delete this.filters[name];
      this.resetPaging();
    }

    resetPaging() {
      this.cursors = [];
      this.cursor = null;
      this.syncUrl();
      this.loadPage();
    }

    syncUrl() {
      const params = Object.assign({}, this.filters);
      if (this.sort !== this.defaultSort) params.sort = this.sort;
      const fragment = this.selectedId ? `#${encodeURIComponent(this.selectedId)}` : "";
      window.history.replaceState(null, "", `${window.location.pathname}${query(params)}${fragment}`);
    }

    renderHead() {
      const row = h("tr");
      const [sortName, descending] = this.sort.startsWith("-") ? [this.sort.slice(1), true] : [this.sort, false];
      for (const name of this.entity.columns) {
        const field = this.fields.get(name);
        const numeric = field.type === "integer" || field.type === "float";
        if (!this.entity.sortable.includes(name)) {
          append(row, h("th", { scope: "col", class: numeric ? "num" : false }, field.label));
          continue;
        }
        const sorted = name === sortName;
        const th = h("th", { scope: "col", class: numeric ? "num" : false, "aria-sort": sorted ? (descending ? "descending" : "ascending") : false });
        append(
          th,
          h(
            "button",
            {
              type: "button",
              "data-sort": name,
              title: `Sort by ${field.label.toLowerCase()}`,
              onclick: () => {
                this.sort = sorted && !descending ? `-${name}` : name;
                this.renderHead();
                this.resetPaging();
              },
            },
            field.label,
            h("span", { "aria-hidden": "true" }, sorted ? (descending ? "▼" : "▲") : "↕"),
          ),
        );
        append(row, th);
      }
      replace(this.thead, row);
    }

    async loadPage() {
      const params = Object.assign({ limit: PAGE_SIZE, sort: this.sort }, this.filters);
      if (this.cursor) params.cursor = this.cursor;
      const response = await api("GET", `${this.entity.path}${query(params)}`);
      if (!response.ok) {
        this.rows = [];
        replace(this.tbody, h("tr", {}, h("td", { class: "empty", colspan: this.entity.columns.length, role: "alert" }, problemText(response))));
        this.pagerText.textContent = "";
        return;
      }
      const page = response.body;
      this.rows = page.items;
      this.nextCursor = page.next_cursor;
      this.total = page.total;
      this.renderRows();
    }

    renderRows() {
      const e = this.entity;
      const pk = e.primary_key;
      // A redraw must not take the keyboard focus away from the row the user is on.
      const focused = document.activeElement && this.tbody.contains(document.activeElement) ? document.activeElement.dataset.id : null;
      if (!this.rows.length) {
        const filtered = Object.keys(this.filters).length > 0;
        replace(this.tbody, h("tr", {}, h("td", { class: "empty", colspan: e.columns.length }, filtered ? `No ${e.title.toLowerCase()} match these filters.` : `No ${e.title.toLowerCase()} yet.`)));
      } else {
        const focusable = this.rows.some((r) => r[pk] === this.selectedId) ? this.selectedId : this.rows[0][pk];
        replace(
          this.tbody,
          this.rows.map((item) => {
            const tr = h("tr", {
              tabindex: item[pk] === focusable ? "0" : "-1",
              "data-id": item[pk],
              "aria-current": item[pk] === this.selectedId ? "true" : false,
              onclick: () => this.select(item[pk], false),
              onkeydown: (ev) => this.rowKey(ev, tr),
            });
            for (const name of e.columns) {
              const field = this.fields.get(name);
              const numeric = field.type === "integer" || field.type === "float";
              const cls = name === e.label_field ? "label-cell" : numeric ? "num" : false;
              append(tr, h("td", { class: cls, "data-field": name }, display(field, item[name], false)));
            }
            return tr;
          }),
        );
      }
      if (focused) {
        const row = Array.from(this.tbody.querySelectorAll("tr[data-id]")).find((r) => r.dataset.id === focused);
        if (row) {
          for (const other of this.tbody.querySelectorAll("tr[data-id]")) other.tabIndex = -1;
          row.tabIndex = 0;
          row.focus();
        }
      }
      const first = this.cursors.length * PAGE_SIZE;
      this.pagerText.textContent = this.rows.length
        ? `${numberFormat.format(first + 1)}–${numberFormat.format(first + this.rows.length)} of ${numberFormat.format(this.total)}`
        : `0 of ${numberFormat.format(this.total)}`;
      this.prevButton.disabled = this.cursors.length === 0;
      this.nextButton.disabled = !this.nextCursor;
    }

    /** Table keyboard: arrows move between rows, Home/End jump, Enter or Space opens. */
    rowKey(ev, tr) {
      const rows = Array.from(this.tbody.querySelectorAll("tr[data-id]"));
      const index = rows.indexOf(tr);
      let target = null;
      if (ev.key === "ArrowDown") target = rows[index + 1];
      else if (ev.key === "ArrowUp") target = rows[index - 1];
      else if (ev.key === "Home") target = rows[0];
      else if (ev.key === "End") target = rows[rows.length - 1];
      else if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        this.select(tr.dataset.id, true);
        return;
      } else return;
      ev.preventDefault();
      if (target) {
        for (const row of rows) row.tabIndex = -1;
        target.tabIndex = 0;
        target.focus();
      }
    }

    nextPage() {
      if (!this.nextCursor) return;
      this.cursors.push(this.cursor);
      this.cursor = this.nextCursor;
      this.loadPage();
    }

    previousPage() {
      if (!this.cursors.length) return;
      this.cursor = this.cursors.pop();
      this.loadPage();
    }

    /** Reloads what an action may have changed: the page, the statistics, the open item. */
    refresh() {
      this.loadPage();
      this.loadStats();
      if (this.selectedId) this.loadDetail(this.selectedId, false);
    }

    // ------------------------------------------------------------ detail panel

    renderEmptyDetail() {
      replace(this.detail, h("h2", {}, "Details"), h("p", { class: "placeholder" }, `Select a ${this.entity.singular} to see every field${this.entity.actions.some((a) => a.kind === "tracked") ? ", its run history" : ""} and its actions.`));
    }

    select(id, moveFocus) {
      this.selectedId = id;
      this.syncUrl();
      for (const row of this.tbody.querySelectorAll("tr[data-id]")) {
        if (row.dataset.id === id) row.setAttribute("aria-current", "true");
        else row.removeAttribute("aria-current");
      }
      this.loadDetail(id, moveFocus);
    }

    async loadDetail(id, moveFocus) {
      const response = await api("GET", this.itemPath(id));
      if (id !== this.selectedId) return; // another row was selected meanwhile
      if (!response.ok) {
        replace(this.detail, h("h2", {}, "Details"), h("p", { role: "alert" }, problemText(response)));
        return;
      }
      const item = response.body;
      this.selectedEtag = response.headers.get("ETag");
      this.renderDetail(item);
      if (moveFocus) this.detail.querySelector("h2").focus();
    }

    renderDetail(item) {
      const e = this.entity;
      const id = item[e.primary_key];
      const statusField = e.tracking ? this.fields.get(e.tracking.status) : null;
      this.detailStatus = h("p", { class: "status-line", role: "status", "aria-live": "polite", "data-testid": "action-status" });
      this.detailResult = h("div");
      // What the last action on this item said stays visible while the panel is redrawn.
      if (this.itemStatus && this.itemStatus.id === id) {
        this.detailStatus.textContent = this.itemStatus.text;
        this.detailStatus.className = `status-line${this.itemStatus.kind ? ` ${this.itemStatus.kind}` : ""}`;
        if (this.itemStatus.result) append(this.detailResult, this.itemStatus.result);
      }
      const list = h("dl", { class: "fields" });
      for (const field of e.fields) append(list, h("dt", {}, field.label), h("dd", { "data-field": field.name }, display(field, item[field.name], true)));
      const itemActions = e.actions.filter((a) => a.scope === "item");
      replace(
        this.detail,
        h(
          "div",
          { class: "detail-head" },
          h("h2", { tabindex: "-1", id: "detail-title" }, this.label(item)),
          statusField ? display(statusField, item[statusField.name], true) : null,
        ),
        h(
          "div",
          { class: "toolbar" },
          itemActions.map((action) =>
            h("button", { type: "button", class: action.kind === "tracked" ? "primary" : false, "data-action": action.name, title: action.summary || false, disabled: this.busy.has(id), onclick: (ev) => this.runItemAction(action, item, ev.currentTarget) }, action.label),
          ),
          h("button", { type: "button", onclick: () => this.openForm(item) }, "Edit"),
          h("button", { type: "button", class: "danger", onclick: () => this.confirmDelete(item) }, "Delete"),
        ),
        this.detailStatus,
        this.detailResult,
        list,
        e.actions.filter((a) => a.kind === "tracked").map((action) => this.historySection(action, id)),
      );
    }

    historySection(action, id) {
      const section = h("section", { "aria-label": `${action.label} history`, class: "history", "data-history": action.name });
      const body = h("tbody");
      append(
        section,
        h("h3", {}, `${action.label} history`),
        h(
          "div",
          { class: "table-wrap" },
          h("table", {}, h("thead", {}, h("tr", {}, ["Status", "Trigger", "Queued", "Duration", "Message"].map((t) => h("th", { scope: "col" }, t)))), body),
        ),
      );
      const load = async () => {
        const response = await api("GET", `${action.history.replace("{id}", encodeURIComponent(id))}?limit=10`);
        if (!response.ok) {
          replace(body, h("tr", {}, h("td", { colspan: 5, role: "alert" }, problemText(response))));
          return;
        }
        const runs = response.body.items;
        if (!runs.length) {
          replace(body, h("tr", {}, h("td", { colspan: 5, class: "empty" }, `No ${action.label.toLowerCase()} runs yet.`)));
          return;
        }
        replace(
          body,
          runs.map((run) =>
            h(
              "tr",
              { "data-run": run.id },
              h("td", {}, badge(run.status)),
              h("td", {}, run.trigger.replace("_", " ")),
              h("td", {}, h("time", { datetime: run.queued_at, title: run.queued_at }, dateTimeFormat.format(new Date(run.queued_at)))),
              h("td", { class: "num" }, run.duration_ms === null ? "—" : `${numberFormat.format(run.duration_ms)} ms`),
              h("td", { class: "message" }, run.message || ""),
            ),
          ),
        );
        if (response.body.total > runs.length) append(body, h("tr", {}, h("td", { colspan: 5, class: "placeholder" }, `Latest ${runs.length} of ${response.body.total} runs.`)));
      };
      load();
      return section;
    }

    // ------------------------------------------------------------ actions

    setStatus(el, text, kind) {
      el.textContent = text;
      el.className = `status-line${kind ? ` ${kind}` : ""}`;
    }

    /** Reports on an item's action; shown whenever that item's panel is drawn. */
    setItemStatus(id, text, kind, result) {
      this.itemStatus = { id, text, kind, result: result || null };
      if (this.selectedId === id && this.detailStatus) {
        this.setStatus(this.detailStatus, text, kind);
        replace(this.detailResult, result || null);
      }
    }

    /** The request body of an action: asked for in a form when it has fields. Undefined
     *  when the user cancelled; null when the action takes no body. */
    async requestBody(action) {
      if (!action.request) return null;
      if (!action.request.length) return {};
      return this.askForRequest(action);
    }

    async runItemAction(action, item, button) {
      const id = item[this.entity.primary_key];
      const body = await this.requestBody(action);
      if (body === undefined) return;
      this.busy.add(id);
      button.disabled = true;
      this.setItemStatus(id, `${action.label}: sending…`, "busy");
      const response = await api(action.method, action.path.replace("{id}", encodeURIComponent(id)), { body: body === null ? undefined : body });
      try {
        if (!response.ok) {
          this.setItemStatus(id, `${action.label} failed: ${problemText(response)}`, "bad");
          return;
        }
        if (action.kind === "tracked") {
          await this.followRun(action, id, response.body);
        } else {
          const result = response.body && typeof response.body === "object" ? this.resultBox(action, response.body) : null;
          this.setItemStatus(id, `${action.label} finished.`, "ok", result);
        }
      } finally {
        this.busy.delete(id);
        if (this.selectedId === id) {
          const again = this.detail.querySelector(`button[data-action="${action.name}"]`);
          if (again) again.disabled = false;
        }
      }
    }

    /** Polls a queued run until it ends, showing its progress, then refreshes the views. */
    async followRun(action, id, run) {
      const runPath = `${action.history.replace("{id}", encodeURIComponent(id))}/${run.id}`;
      const started = Date.now();
      this.refresh();
      while (run.status === "queued" || run.status === "running") {
        this.setItemStatus(id, `${action.label} ${run.status}…`, "busy");
        if (Date.now() - started > POLL_LIMIT_MS) {
          this.setItemStatus(id, `${action.label} is still ${run.status}; its history will show the outcome.`, "");
          return;
        }
        await sleep(POLL_MS);
        const response = await api("GET", runPath);
        if (!response.ok) {
          this.setItemStatus(id, `Could not follow the run: ${problemText(response)}`, "bad");
          return;
        }
        run = response.body;
      }
      const took = run.duration_ms === null ? "" : ` in ${numberFormat.format(run.duration_ms)} ms`;
      if (run.status === "success") this.setItemStatus(id, `${action.label} succeeded${took}${run.message ? `: ${run.message}` : "."}`, "ok");
      else this.setItemStatus(id, `${action.label} failed${took}: ${run.message || "no message"}`, "bad");
      this.refresh();
    }

    resultBox(action, body) {
      const good = body.ok === undefined ? null : Boolean(body.ok);
      const list = h("dl", { class: "fields" });
      const fields = action.response || Object.keys(body).map((name) => ({ name, label: name, type: "string" }));
      for (const field of fields) append(list, h("dt", {}, field.label), h("dd", { "data-field": field.name }, display(field, body[field.name], true)));
      return h("div", { class: `result${good === null ? "" : good ? " ok" : " bad"}`, "data-testid": "action-result" }, list);
    }

    async runCollectionAction(action, button) {
      const body = await this.requestBody(action);
      if (body === undefined) return;
      button.disabled = true;
      const status = this.collectionStatus;
      this.setStatus(status, `${action.label}: sending…`, "busy");
      replace(this.collectionResult);
      try {
        const response = await api(action.method, action.path, { body: body === null ? undefined : body });
        if (!response.ok) {
          this.setStatus(status, `${action.label} failed: ${problemText(response)}`, "bad");
          return;
        }
        if (action.kind !== "runs_all") {
          this.setStatus(status, `${action.label} finished.`, "ok");
          if (response.body && typeof response.body === "object") replace(this.collectionResult, this.resultBox(action, response.body));
          this.refresh();
          return;
        }
        const queued = response.body.queued;
        if (!queued) {
          this.setStatus(status, `${action.label}: nothing to do (every active ${this.entity.singular} is already queued or running).`, "ok");
          return;
        }
        const started = Date.now();
        for (;;) {
          this.loadPage();
          const stats = await this.loadStats();
          const runs = stats.ok && stats.body.runs;
          const left = runs ? runs.queued + runs.running : 0;
          if (!left) break;
          this.setStatus(status, `${action.label}: ${numberFormat.format(left)} of ${numberFormat.format(queued)} still queued or running…`, "busy");
          if (Date.now() - started > POLL_LIMIT_MS) {
            this.setStatus(status, `${action.label}: ${numberFormat.format(left)} still queued or running; the table will show their outcome.`, "");
            return;
          }
          await sleep(POLL_MS * 2);
        }
        this.setStatus(status, `${action.label}: ${numberFormat.format(queued)} ${queued === 1 ? "run" : "runs"} finished.`, "ok");
        this.refresh();
      } finally {
        button.disabled = false;
      }
    }

    // ------------------------------------------------------------ forms

    /** Shows a form for an action's request body; resolves to the body, or undefined. */
    askForRequest(action) {
      return new Promise((resolve) => {
        this.showForm({
          title: action.label,
          fields: action.request,
          values: {},
          submitLabel: action.label,
          submit: async (form) => {
            const body = form.collect(false);
            if (body === undefined) return false; // a value could not be read; the form says which
            resolve(body);
            return true;
          },
          cancel: () => resolve(undefined),
        });
      });
    }

    async openForm(item) {
      const e = this.entity;
      if (!item) {
        const values = {};
        for (const field of e.fields) if (field.default !== undefined) values[field.name] = field.default;
        this.showForm({
          title: `New ${e.singular}`,
          fields: e.fields.filter((f) => !f.server_set),
          values,
          submitLabel: "Create",
          submit: (form) => this.create(form),
        });
        return;
      }
      // Edit what is stored now, and remember its version: saving sends If-Match, so a change
      // someone else made meanwhile is reported instead of overwritten.
      const response = await api("GET", this.itemPath(item[e.primary_key]));
      if (!response.ok) {
        this.setItemStatus(item[e.primary_key], problemText(response), "bad");
        return;
      }
      const etag = response.headers.get("ETag");
      this.showForm({
        title: `Edit ${this.label(response.body)}`,
        fields: e.fields.filter((f) => !f.server_set),
        values: response.body,
        editing: true,
        submitLabel: "Save",
        submit: (form) => this.save(form, response.body, etag),
      });
    }

    showForm(spec) {
      const form = new FieldForm(spec, this.dialog);
      form.open();
    }

    async create(form) {
      const body = form.collect(false);
      if (body === undefined) return false;
      const response = await api("POST", this.entity.path, { body });
      if (response.status === 201) {
        const created = response.body;
        this.selectedId = created[this.entity.primary_key];
        this.syncUrl();
        this.setStatus(this.collectionStatus, `Created ${this.label(created)}.`, "ok");
        this.refresh();
        return true;
      }
      form.showProblem(response);
      return false;
    }

    async save(form, original, etag) {
      const patch = form.collect(true, original);
      if (patch === undefined) return false;
      if (!Object.keys(patch).length) return true;
      const id = original[this.entity.primary_key];
      const headers = etag ? { "If-Match": etag } : {};
      const response = await api("PATCH", this.itemPath(id), { body: patch, headers, contentType: "application/merge-patch+json" });
      if (response.ok) {
        this.setStatus(this.collectionStatus, `Saved ${this.label(response.body)}.`, "ok");
        this.refresh();
        return true;
      }
      if (response.status === 412) {
        form.showConflict(`This ${this.entity.singular} was changed by someone else after you opened it, so your changes were not saved. Reload it to see the current values, then make your changes again.`, () => {
          this.dialog.close();
          this.openForm(original);
        });
        return false;
      }
      form.showProblem(response);
      return false;
    }

    confirmDelete(item) {
      const e = this.entity;
      const id = item[e.primary_key];
      const error = h("div", { class: "form-error", role: "alert", hidden: true });
      const form = h(
        "form",
        { method: "dialog" },
        h("h2", { id: "form-title" }, `Delete ${this.label(item)}?`),
        h("p", {}, `The ${e.singular} and everything stored with it are removed. This cannot be undone.`),
        error,
        h(
          "div",
          { class: "form-actions" },
          h("button", { type: "button", onclick: () => this.dialog.close() }, "Cancel"),
          h("button", { type: "submit", class: "primary" }, "Delete"),
        ),
      );
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const headers = this.selectedEtag ? { "If-Match": this.selectedEtag } : {};
        const response = await api("DELETE", this.itemPath(id), { headers });
        if (response.status === 204) {
          this.dialog.close();
          this.selectedId = null;
          this.syncUrl();
          this.renderEmptyDetail();
          this.setStatus(this.collectionStatus, `Deleted ${this.label(item)}.`, "ok");
          this.loadPage();
          this.loadStats();
          return;
        }
        error.hidden = false;
        replace(error, response.status === 412 ? `This ${e.singular} was changed after you opened it; nothing was deleted. Close this and look at the current values first.` : problemText(response));
      });
      replace(this.dialog, form);
      this.dialog.showModal();
    }
  }

  // ---------------------------------------------------------------- generated forms

  /** A form for a list of spec fields, in the shared dialog. The server validates; the form
   *  shows its per-field messages next to the fields and its other problems on top. */
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
      this.form = h("form", { novalidate: true, "aria-labelledby": "form-title" }, h("h2", { id: "form-title" }, spec.title), this.problem);
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

    help(field) {
      const parts = [];
      if (field.description) parts.push(field.description);
      if (field.max_length !== undefined && field.min_length !== undefined) parts.push(`${field.min_length} to ${field.max_length} characters.`);
      else if (field.max_length !== undefined) parts.push(`Up to ${field.max_length} characters.`);
      else if (field.min_length !== undefined) parts.push(`At least ${field.min_length} characters.`);
      if (field.min !== undefined && field.max !== undefined) parts.push(`From ${field.min} to ${field.max}.`);
      else if (field.min !== undefined) parts.push(`At least ${field.min}.`);
      else if (field.max !== undefined) parts.push(`At most ${field.max}.`);
      if (field.pattern) parts.push(`Must match ${field.pattern}.`);
      if (field.type === "json") parts.push("JSON.");
      if (field.type === "datetime") parts.push("Your local time.");
      if (field.sensitive) parts.push(this.spec.editing ? "Stored secret; leave blank to keep it." : "Stored secret; never shown again.");
      return parts.join(" ");
    }

    fieldRow(field) {
      const id = `field-${field.name}`;
      const helpText = this.help(field);
      const helpId = `${id}-help`;
      const errorId = `${id}-error`;
      const describedBy = [helpText ? helpId : null, errorId].filter(Boolean).join(" ");
      const value = this.spec.values[field.name];
      const common = { id, name: field.name, "aria-describedby": describedBy, "aria-required": field.required ? "true" : false };
      let control;
      switch (field.type) {
        case "enum": {
          const empty = !field.required || value === undefined || value === null;
          control = h("select", common, empty ? h("option", { value: "" }, field.required ? "Choose…" : "—") : null, field.values.map((v) => h("option", { value: v }, v)));
          control.value = value === undefined || value === null ? "" : value;
          break;
        }
        case "boolean":
          if (field.nullable) {
            control = h("select", common, h("option", { value: "" }, "—"), h("option", { value: "true" }, "Yes"), h("option", { value: "false" }, "No"));
            control.value = value === undefined || value === null ? "" : String(value);
          } else {
            control = h("input", Object.assign({ type: "checkbox" }, common));
            control.checked = Boolean(value);
          }
          break;
        case "integer":
          control = h("input", Object.assign({ type: "number", step: "1", inputmode: "numeric" }, common));
          break;
        case "float":
          control = h("input", Object.assign({ type: "number", step: "any", inputmode: "decimal" }, common));
          break;
        case "text":
        case "json":
          control = h("textarea", Object.assign({ rows: field.type === "json" ? 4 : 3, spellcheck: field.type === "text" ? "true" : "false" }, common));
          break;
        case "datetime":
          control = h("input", Object.assign({ type: "datetime-local", step: "1" }, common));
          break;
        case "date":
          control = h("input", Object.assign({ type: "date" }, common));
          break;
        default:
          control = h("input", Object.assign({ type: field.sensitive ? "password" : "text", autocomplete: field.sensitive ? "new-password" : "off" }, common));
      }
      if (!["enum", "boolean"].includes(field.type)) control.value = toInput(field, value);
      this.controls.set(field.name, { field, control });
      const error = h("p", { class: "field-error", id: errorId, hidden: true });
      this.errors.set(field.name, error);
      const required = field.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null;
      if (field.type === "boolean" && !field.nullable) {
        return h("div", { class: "field" }, h("label", { class: "checkbox", for: id }, control, field.label), helpText ? h("p", { class: "help", id: helpId }, helpText) : null, error);
      }
      return h("div", { class: "field" }, h("label", { for: id }, field.label, required), control, helpText ? h("p", { class: "help", id: helpId }, helpText) : null, error);
    }

    /** The body to send: every filled field (create), or only what changed (a merge patch
     *  against `original`). Undefined when a value cannot even be read (bad JSON, say). */
    collect(asPatch, original) {
      const body = {};
      let valid = true;
      for (const [name, { field, control }] of this.controls) {
        const read = fromInput(field, control);
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
        const name = String(violation.field || "").split(/[.[]/)[0];
        if (!this.fieldError(name, violation.message)) unplaced.push(`${violation.field}: ${violation.message}`);
      }
      const placed = (body.errors || []).length > unplaced.length;
      if (!placed || unplaced.length) {
        replace(this.problem, h("p", {}, placed ? "Some values need attention:" : problemText(response)), unplaced.length ? h("ul", {}, unplaced.map((u) => h("li", {}, u))) : null);
        this.problem.hidden = false;
      }
      if (placed) this.focusFirstError();
      else this.problem.focus();
    }

    showConflict(message, reload) {
      replace(this.problem, h("p", { "data-testid": "conflict" }, message), h("button", { type: "button", onclick: reload }, "Reload current values"));
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
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    }
    return String(value);
  }

  /** An input's value as JSON: {value} (undefined when empty) or {error}. */
  function fromInput(field, control) {
    if (field.type === "boolean") {
      if (control.type === "checkbox") return { value: control.checked };
      return { value: control.value === "" ? undefined : control.value === "true" };
    }
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
        } catch (_) {
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

  boot();
})();
