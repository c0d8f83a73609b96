// The entity-spec workbench. One generic page: everything about the entities (fields,
// constraints, filters, sortable columns, actions, scopes) comes from /ui/workbench.json, which
// the macro generated from the spec, and all data goes through the service's public HTTP API,
// like any other client's, with the session's credential. Native modules, no framework, no
// build step.

import { api, problemText } from "./api.js";
import { adoptKeyFromAddress } from "./credential.js";
import { h, replace } from "./dom.js";
import { EntityPage } from "./entity-page.js";
import { renderIndex } from "./overview.js";
import { Session } from "./session.js";

async function boot() {
  // First, before anything reads the fragment or the address can be copied.
  const linkProblem = adoptKeyFromAddress();
  const response = await api("GET", "/ui/workbench.json");
  const main = document.getElementById("main");
  if (!response.ok) {
    const message = `The workbench description could not be loaded: ${problemText(response)}`;
    replace(main, h("p", { role: "alert" }, message));
    return;
  }
  const entities = response.body.entities;
  const session = new Session(main, document.getElementById("session"), (access) => open(main, entities, access));
  session.begin(linkProblem);
}

/** Draws the page the address names for a caller with `access`; returns what takes it down.
 *  Entities the caller cannot read are left out of the navigation and the index. */
function open(main, entities, access) {
  const readable = entities.filter((e) => access.may(e, e.scopes.read));
  const path = window.location.pathname.replace(/\/+$/, "");
  const entity = entities.find((e) => `/ui${e.path}` === path);
  const nav = document.getElementById("entity-nav");
  renderNav(nav, readable, entity);
  const close = () => replace(nav);
  if (!entity) {
    document.title = "Workbench";
    renderIndex(main, readable);
    return close;
  }
  document.title = `${entity.title} · Workbench`;
  const denial = access.denial(entity, entity.scopes.read);
  if (denial) {
    replace(main, h("h1", {}, entity.title), h("p", { role: "alert" }, denial));
    return close;
  }
  const page = new EntityPage(entity, main, access);
  page.start();
  return () => {
    page.stop();
    close();
  };
}

function renderNav(nav, entities, current) {
  const links = entities.map((e) =>
    h("a", { href: `/ui${e.path}`, "aria-current": current === e ? "page" : false }, e.title),
  );
  replace(nav, links);
}

boot();
