// Counts at a glance, from each entity's `GET {path}/stats`: the index page's totals, and the
// statistics tile above one entity's table.

import { api, problemText } from "./api.js";
import { append, h, replace } from "./dom.js";
import { badge, numberFormat, timeAgo } from "./display.js";

/** The index page: a card per entity (those the caller may read), each with its total once
 *  that has loaded. */
export function renderIndex(main, entities) {
  const cards = h("div", { class: "cards" });
  replace(
    main,
    h("h1", {}, "Workbench"),
    h("p", { class: "lead" }, "Every entity of the spec, with its data, statistics and actions."),
    entities.length ? cards : h("p", { class: "placeholder" }, "Your credential can read none of these entities."),
  );
  for (const entity of entities) {
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

/** One entity's statistics: the total, a bar chart per grouped field, recent run failures. */
export class StatsTile {
  constructor(page) {
    this.page = page;
    const title = `${page.entity.title} overview`;
    this.element = h("section", { class: "tile stats", "aria-label": title, "data-testid": "stats" });
  }

  /** Loads and shows the statistics; resolves to the response, for callers that poll it. */
  async load() {
    const response = await api("GET", `${this.page.entity.path}/stats`);
    if (!response.ok) {
      replace(this.element, h("p", { role: "alert" }, problemText(response)));
      return response;
    }
    this.render(response.body);
    return response;
  }

  render(stats) {
    const e = this.page.entity;
    const tiles = [];
    const activeName = e.tracking && e.tracking.active;
    const active = activeName && stats.counts[activeName];
    tiles.push(
      h(
        "div",
        { class: "stat stat-total" },
        h("h2", {}, `All ${e.title.toLowerCase()}`),
        h("div", { class: "stat-value", "data-testid": "stat-total" }, numberFormat.format(stats.total)),
        active
          ? h(
              "div",
              { class: "stat-sub" },
              `${numberFormat.format(active.true)} active · ${numberFormat.format(active.false)} inactive`,
            )
          : null,
      ),
    );
    // The active flag already has its line under the total.
    for (const name of e.grouped) if (name !== activeName) tiles.push(this.bars(this.page.fields.get(name), stats));
    if (stats.runs) tiles.push(this.failures(stats.runs));
    replace(this.element, tiles);
  }

  /** How the items split over the values of `field`, a bar each, every value shown. */
  bars(field, stats) {
    const counts = stats.counts[field.name] || {};
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
    const wide = values.length > 4 ? " stat-wide" : "";
    return h("div", { class: `stat${wide}` }, h("h2", {}, `By ${field.label.toLowerCase()}`), list);
  }

  failures(runs) {
    const failures = h("ul", { class: "failures" });
    for (const run of runs.recent_failures.slice(0, 3)) {
      const name = h(
        "button",
        { type: "button", class: "link", onclick: () => this.page.select(run.item_id, true) },
        run.item_id.slice(0, 8),
      );
      this.fillItemLabel(run.item_id, name);
      const when = run.finished_at || run.queued_at;
      append(
        failures,
        h(
          "li",
          {},
          h("span", {}, name, " · ", h("time", { datetime: when }, timeAgo(when))),
          h("span", { class: "message", title: run.message || "failed" }, run.message || "failed"),
        ),
      );
    }
    return h(
      "div",
      { class: "stat stat-wide" },
      h("h2", {}, "Recent failures"),
      runs.recent_failures.length ? failures : h("p", { class: "stat-sub" }, "No failed runs."),
      h("div", { class: "stat-sub" }, `${runs.queued} queued · ${runs.running} running`),
    );
  }

  /** Names a failed item by its label: from the table when it is on this page, else fetched. */
  async fillItemLabel(id, el) {
    const page = this.page;
    const known = page.table.rows.find((r) => r[page.entity.primary_key] === id);
    if (known) {
      el.textContent = page.label(known);
      return;
    }
    const response = await api("GET", page.itemPath(id));
    if (response.ok) el.textContent = page.label(response.body);
  }
}
