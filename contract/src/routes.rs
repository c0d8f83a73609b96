//! The route table: every route a service answers for an entity, with the operation behind it
//! and the permission it needs. The runtime's router, the OpenAPI document's paths, the
//! generated action code and the CLI's endpoint lists are all built from [`routes`], so they
//! cannot drift apart.

use crate::paths::STATS_SEGMENT;
use crate::runs::RetryPolicy;

/// The HTTP methods routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// Every method, in this order.
    pub const ALL: [Method; 5] = [Method::Get, Method::Post, Method::Put, Method::Patch, Method::Delete];

    /// `GET`, `POST`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The method with this name, exactly as written (`GET`, not `get`).
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an action acts on one item or on the collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionScope {
    /// `{path}/{id}/{segment}`
    Item,
    /// `{path}/{segment}`
    Collection,
}

/// What kind of work an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind<'a> {
    /// Answered by the service's implementation, within the request.
    Plain,
    /// An item action run in the background as a tracked run; its runs are listed at
    /// `{path}/{id}/{history}`.
    Tracked {
        /// The history segment, e.g. `syncs`.
        history: &'a str,
        /// How a failed attempt is retried; `None`: never.
        retry: Option<RetryPolicy>,
    },
    /// A collection action that queues the named tracked action for every active item.
    RunsAll {
        /// The tracked item action's name.
        action: &'a str,
    },
}

/// A custom action as the route table needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionDef<'a> {
    /// The action's name, e.g. `sync` or `test_connection`.
    pub name: &'a str,
    /// Its method.
    pub method: Method,
    /// Item or collection.
    pub scope: ActionScope,
    /// Its path segment, e.g. `sync`, `test`, `sync-all`.
    pub segment: &'a str,
    /// Plain, tracked or runs-all.
    pub kind: ActionKind<'a>,
}

/// A list of the rows of this entity that refer to one row of the entity `field` references
/// (`GET /authors/{id}/books`), mounted under that entity's item path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NestedDef<'a> {
    /// The reference field of this entity, e.g. `author_id`.
    pub field: &'a str,
    /// The referenced entity's collection path, e.g. `/authors`.
    pub parent_path: &'a str,
    /// The segment after the referenced item, e.g. `books` ([`nested_segment`]).
    pub segment: &'a str,
}

/// The segment of a nested list of `collection_path`'s rows under a referenced item: the last
/// segment of the collection path (`/library/books` → `books`), and, where the entity has
/// several references to that entity, `-as-` and the reference's expansion name
/// (`/members/{id}/loans-as-guarantor`), so each reference gets its own list.
pub fn nested_segment(collection_path: &str, expansion: &str, several: bool) -> String {
    let last = collection_path.rsplit('/').next().unwrap_or(collection_path);
    if several { format!("{last}-as-{expansion}") } else { last.to_owned() }
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation<'a> {
    /// `GET {path}`: a filtered, sorted page.
    List,
    /// `POST {path}`
    Create,
    /// `GET {path}/stats`: counts per enum and boolean value.
    Stats,
    /// `GET {path}/{id}`
    Read,
    /// `PUT {path}/{id}`
    Replace,
    /// `PATCH {path}/{id}`: a JSON merge patch.
    Patch,
    /// `DELETE {path}/{id}`
    Delete,
    /// A plain action, answered by the service's implementation.
    Action(&'a ActionDef<'a>),
    /// Queues a tracked action's run on one item (`202`).
    QueueRun(&'a ActionDef<'a>),
    /// The runs of a tracked action on one item, newest first.
    ListRuns(&'a ActionDef<'a>),
    /// One run of a tracked action on one item.
    ReadRun(&'a ActionDef<'a>),
    /// Queues a tracked action for every active item (`202`); holds the runs-all action.
    QueueAll(&'a ActionDef<'a>),
    /// `GET {parent_path}/{id}/{segment}`: a list of the rows referring to one row of
    /// another entity, with every list parameter.
    ListNested(&'a NestedDef<'a>),
}

/// What a caller must be allowed to do to use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission<'a> {
    /// Read the entity: lists, items, statistics, run history.
    Read,
    /// Create, change and delete items.
    Write,
    /// Run the named action (for runs-all: the tracked action it queues).
    Run(&'a str),
}

impl Permission<'_> {
    /// The key of the spec's `api.access.scopes` object that renames this permission's scope:
    /// `read`, `write` or the action's name.
    pub fn scope_key(&self) -> &str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Run(action) => action,
        }
    }
}

/// One route of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'a> {
    /// Its method.
    pub method: Method,
    /// Its path template, with `{id}` for the item and `{run_id}` for a run, as axum and
    /// OpenAPI both write them.
    pub path: String,
    /// What it does.
    pub operation: Operation<'a>,
    /// What a caller must be allowed.
    pub permission: Permission<'a>,
}

/// Where an action is mounted: `{collection_path}/{id}/{segment}` on an item,
/// `{collection_path}/{segment}` on the collection.
pub fn action_path(collection_path: &str, action: &ActionDef<'_>) -> String {
    match action.scope {
        ActionScope::Item => format!("{collection_path}/{{id}}/{}", action.segment),
        ActionScope::Collection => format!("{collection_path}/{}", action.segment),
    }
}

/// Where a tracked action's runs of one item are listed: `{collection_path}/{id}/{history}`.
pub fn history_path(collection_path: &str, history: &str) -> String {
    format!("{collection_path}/{{id}}/{history}")
}

/// Every route of an entity at `collection_path` with these actions and nested lists: the
/// collection (list, create), its statistics, the item (read, replace, patch, delete), then
/// each action in spec order with, for a tracked action, its run history and single-run
/// routes, then its lists under the items it refers to.
pub fn routes<'a>(collection_path: &str, actions: &'a [ActionDef<'a>], nested: &'a [NestedDef<'a>]) -> Vec<Route<'a>> {
    let item = format!("{collection_path}/{{id}}");
    let route = |method, path: String, operation, permission| Route { method, path, operation, permission };
    let mut table = vec![
        route(Method::Get, collection_path.to_owned(), Operation::List, Permission::Read),
        route(Method::Post, collection_path.to_owned(), Operation::Create, Permission::Write),
        route(Method::Get, format!("{collection_path}/{STATS_SEGMENT}"), Operation::Stats, Permission::Read),
        route(Method::Get, item.clone(), Operation::Read, Permission::Read),
        route(Method::Put, item.clone(), Operation::Replace, Permission::Write),
        route(Method::Patch, item.clone(), Operation::Patch, Permission::Write),
        route(Method::Delete, item.clone(), Operation::Delete, Permission::Write),
    ];
    for action in actions {
        let path = action_path(collection_path, action);
        match action.kind {
            ActionKind::Plain => {
                table.push(route(action.method, path, Operation::Action(action), Permission::Run(action.name)));
            }
            ActionKind::Tracked { history, .. } => {
                table.push(route(action.method, path, Operation::QueueRun(action), Permission::Run(action.name)));
                let runs = history_path(collection_path, history);
                table.push(route(Method::Get, runs.clone(), Operation::ListRuns(action), Permission::Read));
                table.push(route(
                    Method::Get,
                    format!("{runs}/{{run_id}}"),
                    Operation::ReadRun(action),
                    Permission::Read,
                ));
            }
            ActionKind::RunsAll { action: tracked } => {
                table.push(route(action.method, path, Operation::QueueAll(action), Permission::Run(tracked)));
            }
        }
    }
    for list in nested {
        let path = format!("{}/{{id}}/{}", list.parent_path, list.segment);
        table.push(route(Method::Get, path, Operation::ListNested(list), Permission::Read));
    }
    table
}

/// Pairs of routes that would answer the same request: the same method on the same path
/// template, or a literal segment where the other has `{id}` is fine (a static segment wins),
/// so only identical templates collide.
pub fn collisions<'r, 'a>(table: &'r [Route<'a>]) -> Vec<(&'r Route<'a>, &'r Route<'a>)> {
    let mut found = Vec::new();
    for (i, later) in table.iter().enumerate() {
        if let Some(earlier) = table[..i].iter().find(|r| r.method == later.method && r.path == later.path) {
            found.push((earlier, later));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: &[ActionDef<'static>] = &[
        ActionDef {
            name: "sync",
            method: Method::Post,
            scope: ActionScope::Item,
            segment: "sync",
            kind: ActionKind::Tracked { history: "syncs", retry: None },
        },
        ActionDef {
            name: "test_connection",
            method: Method::Post,
            scope: ActionScope::Item,
            segment: "test",
            kind: ActionKind::Plain,
        },
        ActionDef {
            name: "sync_all",
            method: Method::Post,
            scope: ActionScope::Collection,
            segment: "sync-all",
            kind: ActionKind::RunsAll { action: "sync" },
        },
    ];

    #[test]
    fn the_raw_data_source_table() {
        let table = routes("/raw-data-sources", ACTIONS, &[]);
        let lines: Vec<String> =
            table.iter().map(|r| format!("{} {} {}", r.method, r.path, r.permission.scope_key())).collect();
        assert_eq!(
            lines,
            [
                "GET /raw-data-sources read",
                "POST /raw-data-sources write",
                "GET /raw-data-sources/stats read",
                "GET /raw-data-sources/{id} read",
                "PUT /raw-data-sources/{id} write",
                "PATCH /raw-data-sources/{id} write",
                "DELETE /raw-data-sources/{id} write",
                "POST /raw-data-sources/{id}/sync sync",
                "GET /raw-data-sources/{id}/syncs read",
                "GET /raw-data-sources/{id}/syncs/{run_id} read",
                "POST /raw-data-sources/{id}/test test_connection",
                "POST /raw-data-sources/sync-all sync",
            ]
        );
        assert!(collisions(&table).is_empty());
    }

    #[test]
    fn nested_lists_hang_under_the_referenced_item() {
        let nested = [
            NestedDef { field: "member_id", parent_path: "/members", segment: "loans-as-member" },
            NestedDef { field: "shelf_id", parent_path: "/library/shelves", segment: "books" },
        ];
        let table = routes("/loans", &[], &nested);
        let lines: Vec<String> = table[7..].iter().map(|r| format!("{} {}", r.method, r.path)).collect();
        assert_eq!(lines, ["GET /members/{id}/loans-as-member", "GET /library/shelves/{id}/books"]);
        assert_eq!(nested_segment("/library/books", "shelf", false), "books");
        assert_eq!(nested_segment("/loans", "guarantor", true), "loans-as-guarantor");
    }

    #[test]
    fn an_action_on_a_builtin_route_collides() {
        let clash = [ActionDef {
            name: "count",
            method: Method::Get,
            scope: ActionScope::Collection,
            segment: "stats",
            kind: ActionKind::Plain,
        }];
        let table = routes("/things", &clash, &[]);
        let found = collisions(&table);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.operation, Operation::Stats);
    }
}
