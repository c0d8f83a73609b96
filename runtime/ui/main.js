// The entity-spec workbench. One generic page: everything about the entities (fields,
// constraints, filters, sortable columns, actions) comes from /ui/workbench.json, which the
// macro generated from the spec, and all data goes through the service's public HTTP API,
// like any other client's. Native modules, no framework, no build step.

import { api, problemText } from "./api.js";
import { h, replace } from "./dom.js";
import { EntityPage } from "./entity-page.js";
import { renderIndex } from "./overview.js";

async function boot() {
  const response = await api("GET", "/ui/workbench.json");
  const main = document.getElementById("main");
  if (!response.ok) {
    const message = `The workbench description could not be loaded: ${problemText(response)}`;
    replace(main, h("p", { role: "alert" }, message));
    return;
  }
  const entities = response.body.entities;
  const path = window.location.pathname.replace(/\/+$/, "");
  const entity = entities.find((e) => `/ui${e.path}` === path);
  renderNav(entities, entity);
  if (entity) {
    document.title = `${entity.title} · Workbench`;
    new EntityPage(entity, main).start();
  } else {
    document.title = "Workbench";
    renderIndex(main, entities);
  }
}

function renderNav(entities, current) {
  const links = entities.map((e) =>
    h("a", { href: `/ui${e.path}`, "aria-current": current === e ? "page" : false }, e.title),
  );
  replace(document.getElementById("entity-nav"), links);
}

boot();
