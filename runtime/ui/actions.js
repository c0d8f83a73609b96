// Running the spec's actions: a form for the request body when the action takes one, then
// its answer, or, for a queued run, its progress until it ends.

import { api, problemText } from "./api.js";
import { append, h, replace, setStatus } from "./dom.js";
import { display, numberFormat } from "./display.js";
import { showForm } from "./forms.js";

const POLL_MS = 500;
// A run still going after this is left to its history rather than polled forever.
const POLL_LIMIT_MS = 5 * 60 * 1000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The request body of an action: asked for in a form when it has fields. Undefined when the
 *  user cancelled; null when the action takes no body. */
async function requestBody(page, action) {
  if (!action.request) return null;
  if (!action.request.length) return {};
  return new Promise((resolve) => {
    showForm(page.dialog, {
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

/** An action's JSON answer as a field list, green or red when it has an `ok`. */
function resultBox(action, body) {
  const good = body.ok === undefined ? null : Boolean(body.ok);
  const list = h("dl", { class: "fields" });
  const fields = action.response || Object.keys(body).map((name) => ({ name, label: name, type: "string" }));
  for (const field of fields) {
    append(
      list,
      h("dt", {}, field.label),
      h("dd", { "data-field": field.name }, display(field, body[field.name], true)),
    );
  }
  const tone = good === null ? "" : good ? " ok" : " bad";
  return h("div", { class: `result${tone}`, "data-testid": "action-result" }, list);
}

/** Runs an item action from the detail panel; its button stays disabled until it is done. */
export async function runItemAction(page, action, item, button) {
  const detail = page.detail;
  const id = item[page.entity.primary_key];
  const body = await requestBody(page, action);
  if (body === undefined) return;
  detail.busy.add(id);
  button.disabled = true;
  detail.setItemStatus(id, `${action.label}: sending…`, "busy");
  const path = action.path.replace("{id}", encodeURIComponent(id));
  const response = await api(action.method, path, { body: body === null ? undefined : body });
  try {
    if (!response.ok) {
      detail.setItemStatus(id, `${action.label} failed: ${problemText(response)}`, "bad");
      return;
    }
    if (action.kind === "tracked") {
      await followRun(page, action, id, response.body);
    } else {
      const result = response.body && typeof response.body === "object" ? resultBox(action, response.body) : null;
      detail.setItemStatus(id, `${action.label} finished.`, "ok", result);
    }
  } finally {
    detail.busy.delete(id);
    // The panel may have been redrawn meanwhile: enable the button that is there now.
    if (page.selectedId === id) {
      const again = detail.element.querySelector(`button[data-action="${action.name}"]`);
      if (again) again.disabled = false;
    }
  }
}

/** Polls a queued run until it ends, showing its progress, then refreshes the views. */
async function followRun(page, action, id, run) {
  const detail = page.detail;
  const runPath = `${action.history.replace("{id}", encodeURIComponent(id))}/${run.id}`;
  const started = Date.now();
  page.refresh();
  while (run.status === "queued" || run.status === "running") {
    detail.setItemStatus(id, `${action.label} ${run.status}…`, "busy");
    if (Date.now() - started > POLL_LIMIT_MS) {
      detail.setItemStatus(id, `${action.label} is still ${run.status}; its history will show the outcome.`, "");
      return;
    }
    await sleep(POLL_MS);
    const response = await api("GET", runPath);
    if (!response.ok) {
      detail.setItemStatus(id, `Could not follow the run: ${problemText(response)}`, "bad");
      return;
    }
    run = response.body;
  }
  const took = run.duration_ms === null ? "" : ` in ${numberFormat.format(run.duration_ms)} ms`;
  if (run.status === "success") {
    detail.setItemStatus(id, `${action.label} succeeded${took}${run.message ? `: ${run.message}` : "."}`, "ok");
  } else {
    detail.setItemStatus(id, `${action.label} failed${took}: ${run.message || "no message"}`, "bad");
  }
  page.refresh();
}

/** Runs a collection action from the table's toolbar, reporting above the table. A run over
 *  every item is followed through the statistics' queue counts until the queue drains. */
export async function runCollectionAction(page, action, button) {
  const body = await requestBody(page, action);
  if (body === undefined) return;
  button.disabled = true;
  const status = page.collectionStatus;
  setStatus(status, `${action.label}: sending…`, "busy");
  replace(page.collectionResult);
  try {
    const response = await api(action.method, action.path, { body: body === null ? undefined : body });
    if (!response.ok) {
      setStatus(status, `${action.label} failed: ${problemText(response)}`, "bad");
      return;
    }
    if (action.kind !== "runs_all") {
      setStatus(status, `${action.label} finished.`, "ok");
      if (response.body && typeof response.body === "object") {
        replace(page.collectionResult, resultBox(action, response.body));
      }
      page.refresh();
      return;
    }
    const queued = response.body.queued;
    if (!queued) {
      const everyActive = `every active ${page.entity.singular} is already queued or running`;
      setStatus(status, `${action.label}: nothing to do (${everyActive}).`, "ok");
      return;
    }
    const started = Date.now();
    const total = numberFormat.format(queued);
    for (;;) {
      page.table.load();
      const stats = await page.stats.load();
      const runs = stats.ok && stats.body.runs;
      const left = runs ? runs.queued + runs.running : 0;
      if (!left) break;
      const waiting = `${numberFormat.format(left)} of ${total} still queued or running`;
      setStatus(status, `${action.label}: ${waiting}…`, "busy");
      if (Date.now() - started > POLL_LIMIT_MS) {
        const outcome = `${numberFormat.format(left)} still queued or running; the table will show their outcome`;
        setStatus(status, `${action.label}: ${outcome}.`, "");
        return;
      }
      await sleep(POLL_MS * 2);
    }
    setStatus(status, `${action.label}: ${total} ${queued === 1 ? "run" : "runs"} finished.`, "ok");
    page.refresh();
  } finally {
    button.disabled = false;
  }
}
