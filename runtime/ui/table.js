// The entity's table: search, filters and sort kept in the URL (so a view can be shared),
// cursor pages, and keyboard use. While a search is typed and no column was chosen, the service
// orders by relevance (no `sort` sent). Which fields filter and sort, and the initial order, come from
// workbench.json: the service decides them, the page only offers them.

import { api, downloadCsv, problemText, query } from "./api.js";
import { append, h, replace } from "./dom.js";
import { display, numberFormat } from "./display.js";

const PAGE_SIZE = 20;
// Long enough to type a word before the list reloads.
const FILTER_DELAY_MS = 300;

export class Table {
  constructor(page, params) {
    this.page = page;
    const e = page.entity;
    this.filterFields = e.filters.map((name) => page.fields.get(name));
    this.filters = {};
    for (const field of this.filterFields) {
      const value = params.get(field.name);
      if (value) this.filters[field.name] = value;
    }
    this.search = e.searchable ? (params.get("q") || "").trim() : "";
    const sort = params.get("sort");
    this.sort = sort && e.sortable.includes(sort.replace(/^-/, "")) ? sort : e.default_sort;
    // A column the user chose orders a search too; otherwise the best match comes first.
    this.sortChosen = Boolean(sort);
    this.cursors = []; // cursors of the pages before the current one (for "Previous")
    this.cursor = null;
    this.rows = [];
    this.tbody = h("tbody");
    this.thead = h("thead");
    this.pagerText = h("span", { "aria-live": "polite" });
    this.prevButton = h("button", { type: "button", onclick: () => this.previousPage() }, "← Previous");
    this.nextButton = h("button", { type: "button", onclick: () => this.nextPage() }, "Next →");
  }

  /** The table's tile: title and `toolbar`, filters, the collection's `status` nodes, rows, pager. */
  tile(toolbar, status) {
    const e = this.page.entity;
    return h(
      "section",
      { class: "tile table-tile", "aria-labelledby": "table-title" },
      h("div", { class: "tile-head" }, h("h1", { id: "table-title" }, e.title), toolbar),
      e.description ? h("p", { class: "lead" }, e.description) : null,
      this.renderFilters(),
      status,
      h(
        "div",
        { class: "table-wrap" },
        h("table", { "aria-labelledby": "table-title", "aria-describedby": "table-help" }, this.thead, this.tbody),
      ),
      h(
        "p",
        { id: "table-help", class: "visually-hidden" },
        "Use the arrow keys to move between rows and Enter to open one.",
      ),
      h("nav", { class: "pager", "aria-label": "Pages" }, this.prevButton, this.pagerText, this.nextButton),
    );
  }

  /** The URL's share of the view: the search, the filters, and the sort the user chose. */
  urlParams() {
    const params = Object.assign({}, this.filters);
    if (this.search) params.q = this.search;
    if (this.sortChosen && this.sort !== this.page.entity.default_sort) params.sort = this.sort;
    return params;
  }

  /** What a list request asks for besides paging: the search, the filters and the order. */
  listParams() {
    const params = Object.assign({}, this.filters);
    if (this.search) params.q = this.search;
    if (!this.ranked()) params.sort = this.sort;
    return params;
  }

  /** Whether the rows are in relevance order: a search, and no column chosen. */
  ranked() {
    return Boolean(this.search) && !this.sortChosen;
  }

  // ------------------------------------------------------------ filters

  /** The search box (full-text `q=`, where the entity has searchable fields), selects for enums
   *  and booleans, a text box (equality) for strings. */
  renderFilters() {
    const e = this.page.entity;
    const label = `${e.searchable ? "Search and filter" : "Filter"} ${e.title.toLowerCase()}`;
    const form = h("form", {
      class: "filters",
      role: "search",
      "aria-label": label,
      onsubmit: (ev) => ev.preventDefault(),
    });
    if (e.searchable) {
      const searched = e.searchable.map((name) => this.page.fields.get(name).label.toLowerCase());
      const box = h("input", {
        id: "search",
        name: "q",
        type: "search",
        placeholder: `Words in ${searched.join(", ")}…`,
        autocomplete: "off",
        maxlength: "200",
      });
      box.value = this.search;
      let timer = null;
      box.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          this.search = box.value.trim();
          this.renderHead();
          this.resetPaging();
        }, FILTER_DELAY_MS);
      });
      append(form, h("label", { for: "search", class: "search" }, "Search", box));
    }
    for (const field of this.filterFields) {
      const id = `filter-${field.name}`;
      let control;
      if (field.type === "enum" || field.type === "boolean") {
        const choices =
          field.type === "enum" ? field.values.map((v) => [v, v]) : Object.entries({ true: "Yes", false: "No" });
        const options = choices.map(([value, text]) => h("option", { value }, text));
        control = h("select", { id, name: field.name }, h("option", { value: "" }, "Any"), options);
        control.value = this.filters[field.name] || "";
        control.addEventListener("change", () => this.setFilter(field.name, control.value));
      } else {
        control = h("input", { id, name: field.name, type: "search", placeholder: "equals…", autocomplete: "off" });
        control.value = this.filters[field.name] || "";
        let timer = null;
        control.addEventListener("input", () => {
          clearTimeout(timer);
          timer = setTimeout(() => this.setFilter(field.name, control.value.trim()), FILTER_DELAY_MS);
        });
      }
      append(form, h("label", { for: id }, field.label, control));
    }
    const clear = () => {
      for (const el of form.querySelectorAll("select, input")) el.value = "";
      this.filters = {};
      this.search = "";
      this.renderHead();
      this.resetPaging();
    };
    append(form, h("button", { type: "button", onclick: clear }, e.searchable ? "Clear" : "Clear filters"));
    return form;
  }

  setFilter(name, value) {
    if (value) this.filters[name] = value;
    else delete this.filters[name];
    this.resetPaging();
  }

  /** Back to the first page: a cursor belongs to the filters and sort it was issued for. */
  resetPaging() {
    this.cursors = [];
    this.cursor = null;
    this.page.syncUrl();
    this.load();
  }

  // ------------------------------------------------------------ head and rows

  renderHead() {
    const row = h("tr");
    // In relevance order no column is sorted.
    const shown = this.ranked() ? "" : this.sort;
    const [sortName, descending] = shown.startsWith("-") ? [shown.slice(1), true] : [shown, false];
    for (const name of this.page.entity.columns) {
      const field = this.page.fields.get(name);
      const numeric = field.type === "integer" || field.type === "float";
      if (!this.page.entity.sortable.includes(name)) {
        append(row, h("th", { scope: "col", class: numeric ? "num" : false }, field.label));
        continue;
      }
      const sorted = name === sortName;
      const th = h("th", {
        scope: "col",
        class: numeric ? "num" : false,
        "aria-sort": sorted ? (descending ? "descending" : "ascending") : false,
      });
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
              this.sortChosen = true;
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

  async load() {
    const e = this.page.entity;
    const params = Object.assign({ limit: PAGE_SIZE }, this.listParams());
    // Exact on small tables; on a large PostgreSQL table the planner's estimate, which costs
    // nothing, instead of counting every row on each refresh.
    if (e.count_estimated_above !== null) params.count = "estimated";
    if (this.cursor) params.cursor = this.cursor;
    const response = await api("GET", `${e.path}${query(params)}`);
    if (!response.ok) {
      this.rows = [];
      const cell = h("td", { class: "empty", colspan: e.columns.length, role: "alert" }, problemText(response));
      replace(this.tbody, h("tr", {}, cell));
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
    const e = this.page.entity;
    const pk = e.primary_key;
    const selectedId = this.page.selectedId;
    // A redraw must not take the keyboard focus away from the row the user is on.
    const active = document.activeElement;
    const focused = active && this.tbody.contains(active) ? active.dataset.id : null;
    if (!this.rows.length) {
      const filtered = Object.keys(this.filters).length > 0 || Boolean(this.search);
      const title = e.title.toLowerCase();
      const text = filtered
        ? `No ${title} match ${this.search ? "this search" : "these filters"}.`
        : `No ${title} yet.`;
      replace(this.tbody, h("tr", {}, h("td", { class: "empty", colspan: e.columns.length }, text)));
    } else {
      const focusable = this.rows.some((r) => r[pk] === selectedId) ? selectedId : this.rows[0][pk];
      replace(
        this.tbody,
        this.rows.map((item) => {
          const tr = h("tr", {
            tabindex: item[pk] === focusable ? "0" : "-1",
            "data-id": item[pk],
            "aria-current": item[pk] === selectedId ? "true" : false,
            onclick: () => this.page.select(item[pk], false),
            onkeydown: (ev) => this.rowKey(ev, tr),
          });
          for (const name of e.columns) {
            const field = this.page.fields.get(name);
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
    const estimated = e.count_estimated_above !== null && this.total > e.count_estimated_above;
    const total = `${estimated ? "about " : ""}${numberFormat.format(this.total)}`;
    this.pagerText.textContent = this.rows.length
      ? `${numberFormat.format(first + 1)}–${numberFormat.format(first + this.rows.length)} of ${total}`
      : `0 of ${total}`;
    this.prevButton.disabled = this.cursors.length === 0;
    this.nextButton.disabled = !this.nextCursor;
  }

  /** Downloads every item the filters match, in the table's order, as CSV; says why not in
   *  `status` when the service refuses. */
  async download(button, status) {
    const e = this.page.entity;
    button.disabled = true;
    status.textContent = "Preparing the CSV file…";
    const response = await downloadCsv(`${e.path}${query(this.listParams())}`, `${e.file_name}.csv`);
    button.disabled = false;
    status.textContent = response.ok ? "CSV file downloaded." : `Download failed: ${problemText(response)}`;
  }

  /** Marks the row of the open item, without a redraw. */
  markSelected(id) {
    for (const row of this.tbody.querySelectorAll("tr[data-id]")) {
      if (row.dataset.id === id) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
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
      this.page.select(tr.dataset.id, true);
      return;
    } else return;
    ev.preventDefault();
    if (target) {
      for (const row of rows) row.tabIndex = -1;
      target.tabIndex = 0;
      target.focus();
    }
  }

  // ------------------------------------------------------------ pages

  nextPage() {
    if (!this.nextCursor) return;
    this.cursors.push(this.cursor);
    this.cursor = this.nextCursor;
    this.load();
  }

  previousPage() {
    if (!this.cursors.length) return;
    this.cursor = this.cursors.pop();
    this.load();
  }
}
