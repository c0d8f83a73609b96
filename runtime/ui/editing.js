// Creating, editing and deleting items through the dialog. Edits and deletes send the version
// they started from (If-Match), so a change someone else made meanwhile is reported instead
// of overwritten.

import { api, problemText } from "./api.js";
import { h, replace, setStatus } from "./dom.js";
import { showForm } from "./forms.js";

/** The create form (`item` null), with the spec's defaults filled in, or the edit form. */
export async function openForm(page, item) {
  const e = page.entity;
  const fields = e.fields.filter((f) => !f.server_set);
  if (!item) {
    const values = {};
    for (const field of e.fields) if (field.default !== undefined) values[field.name] = field.default;
    showForm(page.dialog, {
      title: `New ${e.singular}`,
      fields,
      values,
      access: page.access,
      submitLabel: "Create",
      submit: (form) => create(page, form),
    });
    return;
  }
  // Edit what is stored now, not what the table showed, and remember that version.
  const id = item[e.primary_key];
  const response = await api("GET", page.itemPath(id));
  if (!response.ok) {
    page.detail.setItemStatus(id, problemText(response), "bad");
    return;
  }
  const etag = response.headers.get("ETag");
  showForm(page.dialog, {
    title: `Edit ${page.label(response.body)}`,
    fields,
    values: response.body,
    editing: true,
    access: page.access,
    submitLabel: "Save",
    submit: (form) => save(page, form, response.body, etag),
  });
}

async function create(page, form) {
  const body = form.collect(false);
  if (body === undefined) return false;
  const response = await api("POST", page.entity.path, { body });
  if (response.status === 201) {
    const created = response.body;
    page.selectedId = created[page.entity.primary_key];
    page.syncUrl();
    setStatus(page.collectionStatus, `Created ${page.label(created)}.`, "ok");
    page.refresh();
    return true;
  }
  form.showProblem(response);
  return false;
}

async function save(page, form, original, etag) {
  const patch = form.collect(true, original);
  if (patch === undefined) return false;
  if (!Object.keys(patch).length) return true;
  const id = original[page.entity.primary_key];
  const response = await api("PATCH", page.itemPath(id), {
    body: patch,
    ifMatch: etag,
    contentType: "application/merge-patch+json",
  });
  if (response.ok) {
    setStatus(page.collectionStatus, `Saved ${page.label(response.body)}.`, "ok");
    page.refresh();
    return true;
  }
  if (response.status === 412) {
    const message =
      `This ${page.entity.singular} was changed by someone else after you opened it, so your changes were not ` +
      "saved. Reload it to see the current values, then make your changes again.";
    form.showConflict(message, () => {
      page.dialog.close();
      openForm(page, original);
    });
    return false;
  }
  form.showProblem(response);
  return false;
}

/** Asks before deleting, in the dialog; the delete is conditional on the version shown. */
export function confirmDelete(page, item) {
  const e = page.entity;
  const id = item[e.primary_key];
  const error = h("div", { class: "form-error", role: "alert", hidden: true });
  const form = h(
    "form",
    { method: "dialog" },
    h("h2", { id: "form-title" }, `Delete ${page.label(item)}?`),
    h("p", {}, `The ${e.singular} and everything stored with it are removed. This cannot be undone.`),
    error,
    h(
      "div",
      { class: "form-actions" },
      h("button", { type: "button", onclick: () => page.dialog.close() }, "Cancel"),
      h("button", { type: "submit", class: "primary" }, "Delete"),
    ),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const response = await api("DELETE", page.itemPath(id), { ifMatch: page.detail.etag });
    if (response.status === 204) {
      page.dialog.close();
      page.selectedId = null;
      page.syncUrl();
      page.detail.renderEmpty();
      setStatus(page.collectionStatus, `Deleted ${page.label(item)}.`, "ok");
      page.table.load();
      page.stats.load();
      return;
    }
    error.hidden = false;
    const stale =
      `This ${e.singular} was changed after you opened it; nothing was deleted. ` +
      "Close this and look at the current values first.";
    replace(error, response.status === 412 ? stale : problemText(response));
  });
  replace(page.dialog, form);
  page.dialog.showModal();
}
