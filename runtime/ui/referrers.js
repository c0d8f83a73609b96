// The rows that refer to the open item, for the detail panel's "Referred to by" tab: one
// section per reference to the item's entity (workbench.json's `referrers`, the nested list
// routes such as /library/shelves/{id}/books), each with its count and its first rows as
// links to their pages, and more rows on request.

import { api, problemText, query } from "./api.js";
import { append, h, replace } from "./dom.js";
import { numberFormat } from "./display.js";

// A glance at who refers to the item; "Show more" pages through the rest.
const REFERRER_PAGE = 10;

/** The sections for item `id` of `page`'s entity, each loading its list once drawn. */
export function referrerSections(page, id) {
  return page.entity.referrers.map((referrer) => referrerSection(page, referrer, id));
}

function referrerSection(page, referrer, id) {
  const headingId = `referrers-${referrer.entity}-${referrer.field}`;
  const count = h("span", { class: "count", "data-testid": "referrer-total" });
  const list = h("ul", { class: "referrer-list" });
  const status = h("p", { class: "placeholder", role: "status" });
  const more = h("button", { type: "button", class: "link", hidden: true }, "Show more");
  const section = h(
    "section",
    { class: "referrers", "aria-labelledby": headingId, "data-referrer": referrer.list },
    h("h3", { id: headingId }, referrer.title, " ", count),
    status,
    list,
    more,
  );
  const denial = page.access.denial(referrer, referrer.scopes.read);
  if (denial) {
    status.textContent = denial;
    return section;
  }
  const path = referrer.list.replace("{id}", encodeURIComponent(id));
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    status.textContent = "Loading…";
    const params = { limit: REFERRER_PAGE, cursor };
    const response = await api("GET", `${path}${query(params)}`);
    more.disabled = false;
    if (!response.ok) {
      status.setAttribute("role", "alert");
      status.textContent = problemText(response);
      return;
    }
    const { items, total, next_cursor: next } = response.body;
    if (typeof total === "number") replace(count, `(${numberFormat.format(total)})`);
    append(
      list,
      items.map((item) => h("li", {}, referrerLink(referrer, item))),
    );
    status.textContent = list.children.length ? "" : "None.";
    cursor = next || null;
    more.hidden = !cursor;
  };
  more.addEventListener("click", load);
  load();
  return section;
}

/** A referring row as a link to its page, the row open; named by its label field, else its id. */
function referrerLink(referrer, item) {
  const key = item[referrer.primary_key];
  const label = item[referrer.label_field];
  const text = label === null || label === undefined || label === "" ? String(key) : String(label);
  return h("a", { href: `/ui${referrer.path}#${encodeURIComponent(key)}`, "data-referrer-item": key }, text);
}
