//! The workbench UI in a real browser (headless Chromium through chromedriver), against the
//! generated service listening on loopback: the RawDataSource story on both databases (create
//! through the form, a validation message, filters, the detail panel, a sync, a stale edit),
//! keyboard use of the table, a narrow window, the multi-entity catalog spec, signing in with
//! authentication on (and what a read-only key is offered), and axe-core's accessibility rules.

mod support;

#[path = "support/webdriver.rs"]
mod webdriver;

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity_spec::api_keys::{self, NewKey};
use entity_spec::{Backend, Db, MigrateOptions};
use serde_json::{Value, json};
use support::{BACKENDS, TestDb};
use webdriver::{Browser, keys};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

#[entity_spec::entity_spec("tests/specs/catalog.json")]
pub mod catalog {}

support::raw_data_source_test_actions!(model);
support::order_test_actions!(catalog);
support::library_test_actions!(library);

#[entity_spec::entity_spec("tests/specs/library.json")]
pub mod library {}

/// A service on 127.0.0.1, driven by its own runtime while the test thread drives the browser.
struct Served {
    base: String,
    runtime: tokio::runtime::Runtime,
    db: TestDb,
}

impl Served {
    /// Creates an item over HTTP (with the given headers) and returns its id.
    fn create(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> String {
        let (status, created, _) = http("POST", &format!("{}{path}", self.base), Some(body), headers);
        assert_eq!(status, 201, "POST {path}: {created}");
        created["id"].as_str().expect("an id").to_owned()
    }

    /// A new API key named `name` holding `scopes`, valid until `expires_at` (None: for good).
    fn key(&self, name: &str, scopes: &[&str], expires_at: Option<DateTime<Utc>>) -> String {
        let new =
            NewKey { name: name.to_owned(), scopes: scopes.iter().map(|s| (*s).to_owned()).collect(), expires_at };
        let (key, _) = self.runtime.block_on(api_keys::create(&self.db.db, new)).expect("key created");
        key.expose().clone()
    }
}

fn serve<F, Fut>(backend: Backend, app: F) -> Served
where
    F: FnOnce(Db) -> Fut,
    Fut: std::future::Future<Output = axum::Router>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (db, base) = runtime.block_on(async {
        let db = TestDb::new(backend).await;
        // Built on the runtime: the worker pool of tracked actions starts on it.
        let router = app(db.db.clone()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("loopback port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, router).await.expect("server runs") });
        (db, base)
    });
    Served { base, runtime, db }
}

async fn raw_data_source_app(db: Db) -> axum::Router {
    model::migrate(&db, MigrateOptions::default()).await.expect("migrates");
    support::started(model::service(db, TestActions), support::quiet_engine())
}

/// The service as deployed: authentication on (the default), API keys accepted.
async fn secured_raw_data_source_app(db: Db) -> axum::Router {
    model::migrate(&db, MigrateOptions::default()).await.expect("migrates");
    let service = model::service(db, TestActions);
    service.start_workers(&support::quiet_engine()).expect("tests run inside a Tokio runtime");
    service.router()
}

async fn catalog_app(db: Db) -> axum::Router {
    catalog::migrate(&db, MigrateOptions::default()).await.expect("migrates");
    support::started(catalog::service(db, OrderTestActions), support::quiet_engine())
}

async fn library_app(db: Db) -> axum::Router {
    library::migrate(&db, MigrateOptions::default()).await.expect("migrates");
    support::open(library::service(db, Renewals))
}

/// The library as deployed: authentication on, API keys accepted.
async fn secured_library_app(db: Db) -> axum::Router {
    library::migrate(&db, MigrateOptions::default()).await.expect("migrates");
    library::service(db, Renewals).router()
}

/// Plain HTTP calls to the same service, as another user (or script) would make them.
fn http(method: &str, url: &str, body: Option<Value>, headers: &[(&str, &str)]) -> (u16, Value, Option<String>) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let response = match method {
        "GET" => {
            let mut request = agent.get(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call()
        }
        _ => {
            let mut request = match method {
                "PATCH" => agent.patch(url),
                _ => agent.post(url),
            };
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.header("Content-Type", "application/json").send(body.unwrap_or(json!({})).to_string().as_bytes())
        }
    }
    .expect("the service answers");
    let status = response.status().as_u16();
    let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = response.into_body().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), etag)
}

/// Rows of the data table, by their label cell.
fn table_labels(browser: &Browser) -> Vec<String> {
    browser.texts("tbody tr[data-id] td.label-cell")
}

fn select_option(browser: &Browser, select: &str, value: &str) {
    browser.find(&format!("{select} option[value=\"{value}\"]")).click();
}

#[test]
fn the_raw_data_source_workbench_works_in_a_browser_on_both_databases() {
    let browser = Browser::start(1280, 800);
    for backend in BACKENDS {
        let served = serve(backend, raw_data_source_app);
        raw_data_source_story(&browser, &served.base, backend);
        if backend == Backend::Sqlite
            && let Ok(path) = std::env::var("WORKBENCH_SCREENSHOT")
        {
            std::fs::write(&path, browser.screenshot()).expect("screenshot written");
        }
        served.runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

fn raw_data_source_story(browser: &Browser, base: &str, backend: Backend) {
    let collection = format!("{base}/raw-data-sources");
    browser.goto(&format!("{base}/ui/raw-data-sources"));
    browser.wait_for_text("tbody", "No raw data sources yet.");
    assert_eq!(browser.find("[data-testid=stat-total]").text(), "0");

    // A name one character too long: the server's message appears next to the field and
    // nothing is created.
    browser.find("button.primary").click();
    let name = browser.find("dialog[open] #field-name");
    assert!(name.same_as(&browser.active_element()), "the form opens with the first field focused");
    name.send_keys(&"n".repeat(101));
    select_option(browser, "dialog[open] #field-source_type", "database");
    browser.find("#field-connection_string").send_keys("postgres://etl:s3cret-pw@db/warehouse");
    browser.find("dialog[open] button[type=submit]").click();
    let message = browser.wait_for_text("#field-name-error", "100");
    assert!(message.contains("at most 100 characters"), "{message}");
    assert_eq!(name.attribute("aria-invalid").as_deref(), Some("true"));
    assert_eq!(http("GET", &collection, None, &[]).1["total"], 0, "{backend:?}: nothing was created");

    // Corrected, it is created: the dialog closes, the row and its detail appear, the secret
    // is stored but never shown.
    name.clear();
    name.send_keys("warehouse");
    browser.find("dialog[open] button[type=submit]").click();
    browser.wait_for("the dialog to close", |b| b.find_all("dialog[open]").is_empty().then_some(()));
    browser.wait_for("the new row", |b| (table_labels(b) == ["warehouse"]).then_some(()));
    browser.wait_for_text("#detail-title", "warehouse");
    browser.wait_for_text("[data-testid=detail] dd[data-field=connection_string]", "set (hidden)");
    let listed = http("GET", &collection, None, &[]).1;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["source_type"], "database");
    assert_eq!(listed["items"][0]["refresh_interval"], 3600, "the form sends the spec's default");
    assert!(!browser.page_source().contains("s3cret-pw"), "the secret never reaches the page");
    browser.wait_for_text("[data-testid=stat-total]", "1");

    // Filter by type.
    for (name, source_type) in [("orders-api", "api"), ("clicks", "stream"), ("billing-api", "api")] {
        let body = json!({"name": name, "source_type": source_type, "connection_string": "http://127.0.0.1:9/"});
        assert_eq!(http("POST", &collection, Some(body), &[]).0, 201);
    }
    browser.goto(&format!("{base}/ui/raw-data-sources"));
    browser.wait_for("four rows", |b| (table_labels(b).len() == 4).then_some(()));
    select_option(browser, "#filter-source_type", "api");
    browser.wait_for("only the API sources", |b| {
        let mut labels = table_labels(b);
        labels.sort();
        (labels == ["billing-api", "orders-api"]).then_some(())
    });
    assert!(browser.script("return location.search", vec![]).as_str().unwrap_or("").contains("source_type=api"));

    // "Download CSV" saves what the filters match: the file the browser is handed is read back
    // (a blob the page made from the authenticated export), not written to disk.
    browser.script(
        "window.downloads = [];
         const blobs = new Map();
         const createObjectURL = URL.createObjectURL;
         URL.createObjectURL = (blob) => {
           const url = createObjectURL(blob);
           blobs.set(url, blob);
           return url;
         };
         const click = HTMLAnchorElement.prototype.click;
         HTMLAnchorElement.prototype.click = function () {
           if (!this.download) return click.call(this);
           const name = this.download;
           blobs.get(this.href).text().then((text) => window.downloads.push({ name, text }));
         };",
        vec![],
    );
    browser.find("[data-testid=download-csv]").click();
    let download = browser.wait_for("the CSV download", |b| {
        let downloads = b.script("return window.downloads", vec![]);
        downloads.get(0).cloned()
    });
    assert_eq!(download["name"], "raw_data_sources.csv", "{backend:?}");
    let csv = download["text"].as_str().unwrap_or("");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,name,source_type,"), "{backend:?}: {csv}");
    assert!(!lines[0].contains("connection_string") && !csv.contains("s3cret-pw"), "{backend:?}: {csv}");
    let mut names: Vec<&str> = lines[1..].iter().map(|l| l.split(',').nth(1).unwrap_or("")).collect();
    names.sort();
    assert_eq!(names, ["billing-api", "orders-api"], "{backend:?}: the filter applies to the file: {csv}");
    browser.wait_for_text("#collection-status", "CSV file downloaded.");
    select_option(browser, "#filter-source_type", "");
    browser.wait_for("every row again", |b| (table_labels(b).len() == 4).then_some(()));

    // Sort by clicking a column header: name ascending, then descending.
    browser.find("th button[data-sort=name]").click();
    browser.wait_for("rows by name", |b| {
        (table_labels(b) == ["billing-api", "clicks", "orders-api", "warehouse"]).then_some(())
    });
    assert_eq!(browser.find("th[aria-sort]").attribute("aria-sort").as_deref(), Some("ascending"));
    browser.find("th button[data-sort=name]").click();
    browser.wait_for("rows by name, descending", |b| {
        (table_labels(b) == ["warehouse", "orders-api", "clicks", "billing-api"]).then_some(())
    });

    // Keyboard: arrows move between rows, Enter opens one.
    let first = browser.find("tbody tr[tabindex='0']");
    first.send_keys(keys::ARROW_DOWN);
    let focused = browser.active_element();
    assert_eq!(focused.attribute("data-id"), browser.find_all("tbody tr[data-id]")[1].attribute("data-id"));
    focused.send_keys(keys::ENTER);
    browser.wait_for_text("#detail-title", "orders-api");

    // Open the warehouse and sync it: progress, then the outcome and a history row.
    browser.find_all("tbody tr[data-id]")[0].click();
    browser.wait_for_text("#detail-title", "warehouse");
    browser.wait_for_text("[data-history=sync] tbody", "No sync runs yet.");
    browser.find("[data-testid=detail] button[data-action=sync]").click();
    browser.wait_for_text("[data-testid=action-status]", "Sync succeeded");
    let history = browser.wait_for_text("[data-history=sync] tbody", "success");
    assert!(history.contains("manual") && history.contains("synced"), "{history}");
    browser.wait_for_text("[data-testid=detail] .detail-head", "success");

    // Test connection shows the action's answer.
    browser.find("[data-testid=detail] button[data-action=test_connection]").click();
    let result = browser.wait_for_text("[data-testid=action-result]", "reachable");
    assert!(result.contains("Latency ms"), "{result}");

    // A stale edit: someone changes the source after the form opened; saving reports the
    // conflict and keeps their change.
    let id = browser.find("tbody tr[aria-current=true]").attribute("data-id").expect("selected row id");
    browser.find("[data-testid=detail] .toolbar button:not([data-action]):not(.danger)").click();
    let interval = browser.find("dialog[open] #field-refresh_interval");
    assert_eq!(interval.property("value"), "3600");
    let item_url = format!("{collection}/{id}");
    let (_, _, etag) = http("GET", &item_url, None, &[]);
    let etag = etag.expect("ETag");
    let (status, _, _) = http("PATCH", &item_url, Some(json!({"refresh_interval": 900})), &[("If-Match", &etag)]);
    assert_eq!(status, 200);
    interval.clear();
    interval.send_keys("7200");
    browser.find("dialog[open] button[type=submit]").click();
    let conflict = browser.wait_for_text("dialog[open] [data-testid=conflict]", "changed by someone else");
    assert!(conflict.contains("not saved"), "{conflict}");
    assert_eq!(http("GET", &item_url, None, &[]).1["refresh_interval"], 900, "the other change is kept");

    // Reloading shows their value; saving again now works.
    browser.find("dialog[open] .form-error button").click();
    browser.wait_for("the reloaded form", |b| {
        b.find_all("dialog[open] #field-refresh_interval")
            .first()
            .is_some_and(|field| field.property("value") == "900")
            .then_some(())
    });
    let interval = browser.find("dialog[open] #field-refresh_interval");
    interval.clear();
    interval.send_keys("7200");
    browser.find("dialog[open] button[type=submit]").click();
    browser.wait_for("the dialog to close", |b| b.find_all("dialog[open]").is_empty().then_some(()));
    browser.wait_for("the saved value", |_| {
        (http("GET", &item_url, None, &[]).1["refresh_interval"] == 7200).then_some(())
    });
    let stored = http("GET", &item_url, None, &[]).1;
    assert_eq!(stored["name"], "warehouse", "a merge patch changes only the edited field");
    browser.wait_for_text("[data-testid=detail] dd[data-field=refresh_interval]", "7,200");

    // The overview counts by type and status.
    browser.wait_for_text("[data-testid=stats]", "success");
    let stats = http("GET", &format!("{collection}/stats"), None, &[]).1;
    assert_eq!(stats["counts"]["source_type"]["api"], 2);
    assert_eq!(stats["counts"]["sync_status"]["success"], 1);

    // Sync all: progress above the table until every active source has run.
    browser.find("button[data-action=sync_all]").click();
    let done = browser.wait_for_text("#collection-status", "finished");
    assert!(done.contains("4 runs"), "{done}");
    browser.wait_for("every row synced", |b| {
        (b.texts("tbody td[data-field=sync_status]") == ["success"; 4]).then_some(())
    });
    let stats = http("GET", &format!("{collection}/stats"), None, &[]).1;
    assert_eq!(stats["counts"]["sync_status"]["success"], 4, "{backend:?}");
}

#[test]
fn signing_in_shows_what_the_credential_may_do_on_both_databases() {
    let browser = Browser::start(1280, 800);
    for backend in BACKENDS {
        let served = serve(backend, secured_raw_data_source_app);
        sign_in_story(&browser, &served, backend);
        served.runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

/// The stored session values of the page's origin.
fn session_storage(browser: &Browser) -> String {
    browser.script("return JSON.stringify(Object.values(sessionStorage))", vec![]).as_str().unwrap_or("").to_owned()
}

fn sign_in_with(browser: &Browser, credential: &str) {
    let input = browser.find("[data-testid=sign-in] #credential");
    input.clear();
    input.send_keys(credential);
    browser.find("[data-testid=sign-in] button[type=submit]").click();
}

fn sign_in_story(browser: &Browser, served: &Served, backend: Backend) {
    let base = &served.base;
    let admin = served.key("admin", &["admin"], None);
    let reader = served.key("reader", &["raw_data_sources:read"], None);
    let stranger = served.key("stranger", &["other_things:read"], None);
    let body = json!({"name": "warehouse", "source_type": "database", "connection_string": "sqlite::memory:"});
    let (status, _, _) =
        http("POST", &format!("{base}/raw-data-sources"), Some(body), &[("Authorization", &format!("Bearer {admin}"))]);
    assert_eq!(status, 201, "{backend:?}");

    // (a) Without a credential: the sign-in form, and nothing of the data.
    browser.goto(&format!("{base}/ui/raw-data-sources"));
    browser.wait_for_text("[data-testid=sign-in] h1", "Sign in");
    let page = browser.wait_for_text("main", "API key or token");
    assert!(!page.contains("warehouse"), "{backend:?}: no data before signing in:\n{page}");
    assert!(browser.find_all("table").is_empty() && browser.find_all("[data-testid=subject]").is_empty());
    assert!(accessibility_violations(browser).is_empty(), "{:?}", accessibility_violations(browser));

    // (f) Something that is not a key is refused before it is sent; a key the server does not
    // know gets the server's 401 detail. Neither is kept.
    sign_in_with(browser, "my password");
    browser.wait_for_text("#sign-in-error", "neither an API key");
    sign_in_with(browser, &format!("esk_{}", "A".repeat(43)));
    browser.wait_for_text("#sign-in-error", "the API key is not valid");
    assert_eq!(session_storage(browser), "[]");
    assert!(browser.find_all("table").is_empty());
    let found = accessibility_violations(browser);
    assert!(found.is_empty(), "the form with its message: {found:?}");

    // (b) The admin key signs in: the rows, the caller in the header, every control usable.
    sign_in_with(browser, &admin);
    browser.wait_for("the row", |b| (table_labels(b) == ["warehouse"]).then_some(()));
    browser.wait_for_text("[data-testid=subject]", "key:admin");
    assert_eq!(browser.find("button.primary").attribute("disabled"), None, "the admin may create");

    // (e) Signing out brings the form back and forgets the key.
    browser.find("#session button").click();
    browser.wait_for_text("[data-testid=sign-in] h1", "Sign in");
    assert!(!session_storage(browser).contains(&admin), "the key is forgotten");
    assert_eq!(session_storage(browser), "[]");
    assert!(browser.find_all("table").is_empty() && browser.find_all("[data-testid=subject]").is_empty());

    // (c) The sign-in link the service prints: signed in, and the key leaves the address bar.
    browser.goto(&format!("{base}/ui#key={admin}"));
    browser.wait_for_text("main .cards", "1 in all");
    browser.wait_for_text("[data-testid=subject]", "key:admin");
    let address = browser.script("return location.href", vec![]);
    assert_eq!(address.as_str(), Some(format!("{base}/ui").as_str()), "the key is out of the address bar");
    browser.find("#session button").click();
    browser.wait_for_text("[data-testid=sign-in] h1", "Sign in");

    // (d) A read-only key sees the rows, but creating, deleting, editing and the actions are
    // greyed out, each saying which scope it needs.
    browser.goto(&format!("{base}/ui/raw-data-sources#key={reader}"));
    browser.wait_for("the row", |b| (table_labels(b) == ["warehouse"]).then_some(()));
    browser.wait_for_text("[data-testid=subject]", "key:reader");
    let new = browser.find("button.primary");
    assert!(new.attribute("disabled").is_some(), "{backend:?}: a reader cannot create");
    assert!(new.attribute("title").unwrap_or_default().contains("raw_data_sources:write"));
    let sync_all = browser.find("button[data-action=sync_all]");
    assert!(sync_all.attribute("disabled").is_some());
    assert!(sync_all.attribute("title").unwrap_or_default().contains("raw_data_sources:sync"));
    browser.find_all("tbody tr[data-id]")[0].click();
    browser.wait_for_text("#detail-title", "warehouse");
    for button in ["Edit", "Delete", "Sync", "Test connection"] {
        let found = browser.script(
            "return [...document.querySelectorAll('[data-testid=detail] .toolbar button')]
                .filter(b => b.innerText === arguments[0]).map(b => [b.disabled, b.title])",
            vec![json!(button)],
        );
        let (Some(disabled), Some(title)) = (found[0][0].as_bool(), found[0][1].as_str()) else {
            panic!("{backend:?}: no {button} button: {found}");
        };
        assert!(disabled, "{backend:?}: {button} is not offered to a reader");
        assert!(title.starts_with("Needs the raw_data_sources:"), "{button}: {title}");
    }
    assert!(accessibility_violations(browser).is_empty(), "{:?}", accessibility_violations(browser));

    // A key that cannot read the entity: no page for it, the scope it would need instead.
    browser.find("#session button").click();
    sign_in_with(browser, &stranger);
    let denied = browser.wait_for_text("main [role=alert]", "raw_data_sources:read");
    assert!(denied.contains("does not hold"), "{denied}");
    assert!(browser.find_all("table").is_empty() && browser.texts("#entity-nav a").is_empty());

    // A key that expires while the page is open: the next request's 401 forgets it and brings
    // the form back with the server's reason.
    let expiry = Utc::now() + chrono::Duration::seconds(3);
    let brief = served.key("brief", &["raw_data_sources:read"], Some(expiry));
    browser.find("#session button").click();
    sign_in_with(browser, &brief);
    browser.wait_for("the row", |b| (table_labels(b) == ["warehouse"]).then_some(()));
    let left = (expiry - Utc::now()).to_std().unwrap_or_default();
    std::thread::sleep(left + Duration::from_millis(300));
    browser.find_all("tbody tr[data-id]")[0].click();
    browser.wait_for_text("#sign-in-error", "the API key is not valid");
    assert_eq!(session_storage(browser), "[]", "{backend:?}: the expired key is forgotten");
    assert!(browser.find_all("table").is_empty() && browser.find_all("[data-testid=subject]").is_empty());
}

#[test]
fn the_workbench_reads_well_in_a_narrow_window() {
    let browser = Browser::start(420, 900);
    let served = serve(Backend::Sqlite, raw_data_source_app);
    let collection = format!("{}/raw-data-sources", served.base);
    let body = json!({"name": "a-rather-long-source-name-for-a-phone", "source_type": "file", "connection_string": "/data/x.csv"});
    assert_eq!(http("POST", &collection, Some(body), &[]).0, 201);
    browser.goto(&format!("{}/ui/raw-data-sources", served.base));
    browser.wait_for("the row", |b| (table_labels(b).len() == 1).then_some(()));
    let overflow = browser.script("return document.documentElement.scrollWidth - window.innerWidth", vec![]);
    assert!(overflow.as_i64().unwrap_or(i64::MAX) <= 0, "the page scrolls sideways by {overflow}px");
    // Form controls are labelled: every input of the create form has a <label for>.
    browser.find("button.primary").click();
    let unlabelled = browser.script(
        "return [...document.querySelectorAll('dialog[open] input, dialog[open] select, dialog[open] textarea')]
            .filter(c => !document.querySelector(`label[for='${c.id}']`)).map(c => c.name)",
        vec![],
    );
    assert_eq!(unlabelled, json!([]));
    served.runtime.shutdown_timeout(Duration::from_secs(5));
}

#[test]
fn every_entity_of_the_catalog_spec_gets_a_working_workbench() {
    let browser = Browser::start(1280, 800);
    let served = serve(Backend::Sqlite, catalog_app);
    let base = &served.base;
    browser.goto(&format!("{base}/ui"));
    for title in ["Customers", "Products", "Orders"] {
        browser.wait_for_text("main", title);
    }
    let pages: Vec<String> = browser.find_all(".cards a").iter().filter_map(|link| link.attribute("href")).collect();
    assert_eq!(pages, ["/ui/customers", "/ui/products", "/ui/orders"]);

    // A customer through the form: required strings, an optional enum, a date, long text.
    browser.goto(&format!("{base}/ui/customers"));
    browser.find("button.primary").click();
    browser.find("dialog[open] #field-email").send_keys("ada@example.com");
    browser.find("#field-display_name").send_keys("Ada");
    browser.find("#field-notes").send_keys("Prefers e-mail.");
    browser.find("dialog[open] button[type=submit]").click();
    browser.wait_for("the customer row", |b| (table_labels(b) == ["ada@example.com"]).then_some(()));
    let customers = http("GET", &format!("{base}/customers"), None, &[]).1;
    assert_eq!(customers["items"][0]["display_name"], "Ada");
    assert_eq!(customers["items"][0]["notes"], "Prefers e-mail.");

    // A product whose price is missing: the server's "required" message lands on the field.
    browser.goto(&format!("{base}/ui/products"));
    browser.find("button.primary").click();
    browser.find("dialog[open] #field-sku").send_keys("KTL-0001");
    browser.find("#field-title").send_keys("Kettle");
    browser.find("#field-attributes").send_keys("{not json");
    browser.find("dialog[open] button[type=submit]").click();
    browser.wait_for_text("#field-attributes-error", "not valid JSON");
    let attributes = browser.find("#field-attributes");
    attributes.clear();
    attributes.send_keys("{\"colour\": \"red\"}");
    browser.find("dialog[open] button[type=submit]").click();
    browser.wait_for_text("#field-price-error", "required");
    browser.find("#field-price").send_keys("19.5");
    browser.find("dialog[open] button[type=submit]").click();
    browser.wait_for("the product row", |b| (table_labels(b) == ["KTL-0001"]).then_some(()));
    let products = http("GET", &format!("{base}/products"), None, &[]).1;
    assert_eq!(products["items"][0]["attributes"], json!({"colour": "red"}));
    assert_eq!(products["items"][0]["price"], 19.5);

    // Orders: a collection action reports its answer.
    browser.goto(&format!("{base}/ui/orders"));
    browser.find("button[data-action=export]").click();
    browser.wait_for_text("#collection-status", "Export finished");
    served.runtime.shutdown_timeout(Duration::from_secs(5));
}

#[tokio::test]
async fn the_workbench_pages_and_assets_are_served_from_the_binary() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let app = raw_data_source_app(test_db.db.clone()).await;
    for path in ["/ui", "/ui/", "/ui/raw-data-sources", "/ui/raw-data-sources/"] {
        let page = support::send(&app, "GET", path, None, &[]).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8", "{path}");
        assert!(page.text.contains("/ui/assets/main.js"), "{path}");
        assert!(page.header("content-security-policy").contains("script-src 'self'"), "{path}");
    }
    let missing = support::send(&app, "GET", "/ui/no-such-things", None, &[]).await;
    missing.problem(axum::http::StatusCode::NOT_FOUND);

    // The entry module and every module it imports, directly or not.
    let mut scripts = vec!["main.js".to_owned()];
    let mut next = 0;
    while let Some(name) = scripts.get(next).cloned() {
        next += 1;
        let path = format!("/ui/assets/{name}");
        let script = support::send(&app, "GET", &path, None, &[]).await;
        assert_eq!(script.header("content-type"), "text/javascript; charset=utf-8", "{path}");
        assert_eq!(script.header("cache-control"), "no-cache");
        assert!(script.header("content-security-policy").contains("script-src 'self'"), "{path}");
        let etag = script.header("etag").to_owned();
        let again = support::send(&app, "GET", &path, None, &[("If-None-Match", &etag)]).await;
        assert_eq!(again.status, 304);
        for (imported, _) in script.text.split(" from \"./").skip(1).filter_map(|rest| rest.split_once('"')) {
            if !scripts.iter().any(|known| known == imported) {
                scripts.push(imported.to_owned());
            }
        }
    }
    assert!(scripts.len() > 1, "main.js imports the page's other modules: {scripts:?}");
    let style = support::send(&app, "GET", "/ui/assets/workbench.css", None, &[]).await;
    assert_eq!(style.header("content-type"), "text/css; charset=utf-8");

    let description = support::send(&app, "GET", "/ui/workbench.json", None, &[]).await;
    assert_eq!(description.body, serde_json::from_str::<Value>(model::WORKBENCH_JSON).expect("JSON"));
    let entity = &description.body["entities"][0];
    assert_eq!(entity["path"], "/raw-data-sources");
    assert_eq!(entity["actions"].as_array().map(Vec::len), Some(3));
}

/// axe-core's serious and critical findings on the current page (empty when it passes).
fn accessibility_violations(browser: &Browser) -> Vec<String> {
    let path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/node_modules/axe-core/axe.min.js").to_owned()
    });
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core is needed at {path} ({e}): run `npm ci --prefix tests/browser` (.ci/run does)")
    });
    browser.script(&format!("{source}\nreturn true;"), vec![]);
    let result = browser.script_async(
        "const done = arguments[arguments.length - 1];
         axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v =>
             `${v.impact}: ${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)));",
        vec![],
    );
    result
        .as_array()
        .map(|list| list.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[test]
fn the_workbench_passes_axe_accessibility_checks() {
    let browser = Browser::start(1280, 800);
    let served = serve(Backend::Sqlite, raw_data_source_app);
    let collection = format!("{}/raw-data-sources", served.base);
    let body = json!({"name": "warehouse", "source_type": "database", "connection_string": "sqlite::memory:"});
    let id = http("POST", &collection, Some(body), &[]).1["id"].as_str().expect("id").to_owned();
    browser.goto(&format!("{}/ui/raw-data-sources#{id}", served.base));
    browser.wait_for_text("#detail-title", "warehouse");
    let mut found = accessibility_violations(&browser);
    browser.find("button.primary").click();
    browser.find("dialog[open] #field-name");
    found.extend(accessibility_violations(&browser));
    browser.goto(&format!("{}/ui", served.base));
    browser.wait_for_text("main", "Raw data sources");
    found.extend(accessibility_violations(&browser));
    assert!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));

    // The check can fail: an unlabelled input and an image without text are reported.
    browser.goto("data:text/html,<!doctype html><html lang=en><title>t</title><main><img src=a.png><input></main>");
    let found = accessibility_violations(&browser);
    assert!(found.iter().any(|v| v.contains("image-alt")) && found.iter().any(|v| v.contains("label")), "{found:?}");
    served.runtime.shutdown_timeout(Duration::from_secs(5));
}

/// A reference is a link to the item it names: from a book to its shelf's page with the shelf
/// open, and from a shelf to its parent on the same page (a self-reference), on both databases.
#[test]
fn reference_fields_link_to_the_items_they_name() {
    let browser = Browser::start(1280, 800);
    for backend in BACKENDS {
        let served = serve(backend, library_app);
        let base = &served.base;
        let post = |path: &str, body: Value| served.create(path, body, &[]);
        let top = post("/library/shelves", json!({"label": "Top floor"}));
        let inner = post("/library/shelves", json!({"label": "Poetry corner", "parent_id": top}));
        let book = post("/library/books", json!({"isbn": "978-0000000042", "title": "Odes", "shelf_id": inner}));

        browser.goto(&format!("{base}/ui/library/books#{book}"));
        browser.wait_for_text("[data-testid=detail]", "Odes");
        let link = browser.find("[data-testid=detail] a[data-reference=shelf_id]");
        assert_eq!(
            link.attribute("href").as_deref(),
            Some(format!("/ui/library/shelves#{inner}").as_str()),
            "{backend:?}"
        );
        link.click();
        browser.wait_for_text("#detail-title", "Poetry corner");
        assert!(
            browser.script("return location.pathname", vec![]).as_str() == Some("/ui/library/shelves"),
            "{backend:?}"
        );

        // Within one page: the hash changes and the parent opens.
        browser.find("[data-testid=detail] a[data-reference=parent_id]").click();
        browser.wait_for_text("#detail-title", "Top floor");
        served.runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

/// A reference is picked by its label in the forms: typing part of a shelf's label lists the
/// matching shelves, the keyboard chooses one, and the book is stored with its id; the edit
/// form shows the stored shelf by its label, and clearing it stores null. On both databases.
#[test]
fn reference_fields_are_picked_by_label_with_the_keyboard() {
    let browser = Browser::start(1280, 800);
    for backend in BACKENDS {
        let served = serve(backend, library_app);
        let base = &served.base;
        let post = |path: &str, body: Value| served.create(path, body, &[]);
        // Labels that sort alike on both databases (PostgreSQL's collation skips punctuation).
        post("/library/shelves", json!({"label": "Poetry annex"}));
        let poetry = post("/library/shelves", json!({"label": "Poetry corner"}));
        post("/library/shelves", json!({"label": "Prose aisle"}));

        browser.goto(&format!("{base}/ui/library/books"));
        browser.wait_for_text("tbody", "No books yet.");
        browser.find("button.primary").click();
        browser.find("dialog[open] #field-isbn").send_keys("978-0000000042");
        browser.find("#field-title").send_keys("Odes");
        let picker = browser.find("#field-shelf_id");
        assert_eq!(picker.attribute("role").as_deref(), Some("combobox"), "{backend:?}");
        picker.send_keys("POETRY c");
        browser.wait_for("one matching shelf", |b| {
            (b.texts("#field-shelf_id-options [role=option]").len() == 1).then_some(())
        });
        assert_eq!(picker.attribute("aria-expanded").as_deref(), Some("true"));
        assert!(browser.texts("#field-shelf_id-options [role=option]")[0].contains("Poetry corner"));
        // Wider text lists both poetry shelves; the arrow keys move, Enter picks (and does not
        // submit the form), Escape closes the list and leaves the dialog open.
        picker.clear();
        picker.send_keys("oetr");
        browser.wait_for("two matching shelves", |b| {
            (b.texts("#field-shelf_id-options [role=option]").len() == 2).then_some(())
        });
        picker.send_keys(keys::ESCAPE);
        assert_eq!(picker.attribute("aria-expanded").as_deref(), Some("false"), "{backend:?}");
        assert!(!browser.find_all("dialog[open]").is_empty(), "Escape closed only the list");
        picker.send_keys(keys::ARROW_DOWN);
        browser.wait_for("the list again", |b| {
            let open = b.find("#field-shelf_id").attribute("aria-expanded").as_deref() == Some("true");
            (open && b.texts("#field-shelf_id-options [role=option]").len() == 2).then_some(())
        });
        picker.send_keys(keys::ARROW_DOWN);
        picker.send_keys(keys::ARROW_DOWN);
        let active = picker.attribute("aria-activedescendant").expect("an active option");
        let found = accessibility_violations(&browser);
        assert!(found.is_empty(), "{backend:?}: axe-core found, the picker open:\n{}", found.join("\n"));
        assert_eq!(browser.find(&format!("#{active}")).attribute("data-id").as_deref(), Some(poetry.as_str()));
        picker.send_keys(keys::ENTER);
        assert_eq!(picker.property("value").as_str(), Some("Poetry corner"), "{backend:?}");
        assert!(!browser.find_all("dialog[open]").is_empty(), "Enter picked, it did not submit");
        browser.find("dialog[open] button[type=submit]").click();
        browser.wait_for("the dialog to close", |b| b.find_all("dialog[open]").is_empty().then_some(()));
        let books = http("GET", &format!("{base}/library/books"), None, &[]).1;
        assert_eq!(books["items"][0]["shelf_id"], json!(poetry), "{backend:?}: the picked shelf's id is stored");
        let book = books["items"][0]["id"].as_str().expect("an id").to_owned();

        // Editing shows the stored shelf by its label; clearing a nullable reference stores null.
        browser.wait_for_text("[data-testid=detail] dd[data-field=title]", "Odes");
        browser.script(
            "[...document.querySelectorAll('[data-testid=detail] button')].find(b => b.textContent === 'Edit').click()",
            vec![],
        );
        let picker = browser.find("dialog[open] #field-shelf_id");
        browser.wait_for("the shelf's label", |b| {
            (b.find("#field-shelf_id").property("value").as_str() == Some("Poetry corner")).then_some(())
        });
        browser.find("dialog[open] .picker-clear").click();
        assert_eq!(picker.property("value").as_str(), Some(""));
        browser.find("dialog[open] button[type=submit]").click();
        browser.wait_for("the dialog to close", |b| b.find_all("dialog[open]").is_empty().then_some(()));
        let stored = http("GET", &format!("{base}/library/books/{book}"), None, &[]).1;
        assert_eq!(stored["shelf_id"], Value::Null, "{backend:?}: the cleared reference is stored as null");
        served.runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

/// The detail panel's "Referred to by" tab lists the rows that refer to the open item, one
/// section per reference with its count (two references to one entity apart, a self-reference
/// included), pages through a long list, and its links open the referring row. On both
/// databases.
#[test]
fn the_detail_panel_lists_the_rows_that_refer_to_an_item() {
    let browser = Browser::start(1280, 800);
    for backend in BACKENDS {
        let served = serve(backend, library_app);
        let base = &served.base;
        let post = |path: &str, body: Value| served.create(path, body, &[]);
        let member = |card: &str, name: &str| {
            post(
                "/members",
                json!({"card_number": card, "display_name": name, "tier": "adult", "joined_on": "2024-01-02"}),
            )
        };
        let ada = member("LIB-0001", "Ada");
        let grace = member("LIB-0002", "Grace");
        let shelf = post("/library/shelves", json!({"label": "Poetry corner"}));
        post("/library/shelves", json!({"label": "Top row", "parent_id": shelf}));
        let books: Vec<String> = (10..22)
            .map(|n| {
                post(
                    "/library/books",
                    json!({"isbn": format!("978-00000000{n}"), "title": format!("Odes {n}"), "shelf_id": shelf}),
                )
            })
            .collect();
        for guarantor in [Some(&grace), None] {
            post(
                "/loans",
                json!({"book_id": books[0], "member_id": ada, "guarantor_id": guarantor, "due_on": "2025-01-01"}),
            );
        }
        let hold = post("/holds", json!({"book_id": books[1], "member_id": ada, "note": "after the summer"}));

        // The headings as written (the stylesheet capitalises them).
        let sections = |b: &Browser| -> Vec<String> {
            let found = b.script(
                "return [...document.querySelectorAll('[data-testid=detail] section.referrers h3')].map(e => e.textContent)",
                vec![],
            );
            serde_json::from_value(found).unwrap_or_default()
        };
        browser.goto(&format!("{base}/ui/members#{ada}"));
        browser.wait_for_text("#detail-title", "LIB-0001");
        let tab = browser.find("[data-testid=detail] [role=tab][data-tab=referrers]");
        tab.click();
        assert_eq!(tab.attribute("aria-selected").as_deref(), Some("true"), "{backend:?}");
        browser.wait_for("the counts", |b| {
            (sections(b) == ["Loans as member (2)", "Loans as guarantor (0)", "Holds (1)"]).then_some(())
        });
        browser.wait_for_text("[data-referrer=\"/members/{id}/loans-as-guarantor\"]", "None.");
        // The keyboard moves between the tabs.
        tab.send_keys("\u{E012}"); // ArrowLeft
        let fields = browser.find("[data-testid=detail] [role=tab][data-tab=fields]");
        assert!(fields.same_as(&browser.active_element()), "{backend:?}: ArrowLeft focuses the Fields tab");
        assert_eq!(fields.attribute("aria-selected").as_deref(), Some("true"));
        fields.send_keys("\u{E012}");

        // A referring row's link opens it on its own page.
        browser.find(&format!("[data-testid=detail] a[data-referrer-item=\"{hold}\"]")).click();
        browser.wait_for_text("[data-testid=detail] dd[data-field=note]", "after the summer");
        assert_eq!(browser.script("return location.pathname", vec![]).as_str(), Some("/ui/holds"), "{backend:?}");

        browser.goto(&format!("{base}/ui/members#{grace}"));
        browser.wait_for_text("#detail-title", "LIB-0002");
        browser.find("[data-testid=detail] [role=tab][data-tab=referrers]").click();
        browser.wait_for("Grace's loans", |b| {
            (sections(b) == ["Loans as member (0)", "Loans as guarantor (1)", "Holds (0)"]).then_some(())
        });

        // Twelve books on a shelf: ten shown, the rest on request; the shelf inside it too.
        browser.goto(&format!("{base}/ui/library/shelves#{shelf}"));
        browser.wait_for_text("#detail-title", "Poetry corner");
        browser.find("[data-testid=detail] [role=tab][data-tab=referrers]").click();
        browser
            .wait_for("the shelf's counts", |b| (sections(b) == ["Books (12)", "Shelfs as parent (1)"]).then_some(()));
        let book_links = "[data-referrer=\"/library/shelves/{id}/books\"] li";
        browser.wait_for("a first page", |b| (b.texts(book_links).len() == 10).then_some(()));
        browser.find("[data-referrer=\"/library/shelves/{id}/books\"] button").click();
        browser.wait_for("every book", |b| (b.texts(book_links).len() == 12).then_some(()));
        browser.wait_for_text("[data-referrer=\"/library/shelves/{id}/shelves\"] li", "Top row");
        let found = accessibility_violations(&browser);
        assert!(found.is_empty(), "{backend:?}: axe-core found:\n{}", found.join("\n"));
        served.runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

/// What a credential may not read is not searched nor listed: a reference to an entity the
/// caller cannot read is a plain id box saying which scope it lacks (a pasted id is stored),
/// and the "Referred to by" tab says the same of the lists it cannot see. On both databases.
#[test]
fn the_picker_and_the_referrers_respect_the_callers_scopes() {
    let browser = Browser::start(1280, 800);
    for backend in BACKENDS {
        callers_scopes_story(&browser, backend);
    }
}

fn callers_scopes_story(browser: &Browser, backend: Backend) {
    let served = serve(backend, secured_library_app);
    let base = &served.base;
    let admin = served.key("admin", &["admin"], None);
    let auth = format!("Bearer {admin}");
    let post = |path: &str, body: Value| served.create(path, body, &[("Authorization", &auth)]);
    let book = post("/library/books", json!({"isbn": "978-0000000042", "title": "Odes", "barcode": "OD000042"}));
    let member = post(
        "/members",
        json!({"card_number": "LIB-0001", "display_name": "Ada", "tier": "adult", "joined_on": "2024-01-02"}),
    );
    let clerk = served.key("clerk", &["loans:read", "loans:write", "books:read"], None);

    browser.goto(&format!("{base}/ui/loans"));
    sign_in_with(browser, &clerk);
    browser.wait_for_text("tbody", "No loans yet.");
    browser.find("button.primary").click();
    let member_box = browser.find("dialog[open] #field-member_id");
    assert_eq!(member_box.attribute("role"), None, "members cannot be searched without members:read");
    browser.wait_for_text("dialog[open] #field-member_id-picker-note", "members:read");
    member_box.send_keys(&member);
    let book_box = browser.find("#field-book_id");
    assert_eq!(book_box.attribute("role").as_deref(), Some("combobox"));
    book_box.send_keys("od0000");
    browser.wait_for("the book", |b| (b.texts("#field-book_id-options [role=option]").len() == 1).then_some(()));
    book_box.send_keys(keys::ARROW_DOWN);
    book_box.send_keys(keys::ENTER);
    assert_eq!(book_box.property("value").as_str(), Some("OD000042"));
    // A date box is typed in the locale's order; the value is what matters here.
    browser.script("document.querySelector('#field-due_on').value = '2025-01-01'", vec![]);
    browser.find("dialog[open] button[type=submit]").click();
    browser.wait_for("the dialog to close", |b| b.find_all("dialog[open]").is_empty().then_some(()));
    let loans = http("GET", &format!("{base}/loans"), None, &[("Authorization", &auth)]).1;
    assert_eq!(loans["items"][0]["book_id"], json!(book));
    assert_eq!(loans["items"][0]["member_id"], json!(member), "{backend:?}: the pasted id is stored");

    browser.goto(&format!("{base}/ui/library/books#{book}"));
    browser.wait_for_text("#detail-title", "OD000042");
    browser.find("[data-testid=detail] [role=tab][data-tab=referrers]").click();
    browser.wait_for_text("[data-referrer=\"/library/books/{id}/loans\"] h3", "(1)");
    browser.wait_for_text("[data-referrer=\"/library/books/{id}/holds\"]", "Needs the holds:read scope");
    served.runtime.shutdown_timeout(Duration::from_secs(5));
}

/// The search box of an entity with searchable fields: typed words find the rows holding them,
/// best match first (no column marked sorted), kept in the URL; a column header orders the
/// matches by that column; Clear brings every row back. On both databases.
#[test]
fn the_search_box_finds_rows_best_match_first() {
    let browser = Browser::start(1280, 800);
    for backend in BACKENDS {
        let served = serve(backend, library_app);
        let base = &served.base;
        for label in ["Rust rust rust", "Rusty nails", "Poetry", "Rust and poetry here"] {
            let (status, created, _) =
                http("POST", &format!("{base}/library/shelves"), Some(json!({"label": label})), &[]);
            assert_eq!(status, 201, "{backend:?}: {created}");
        }
        browser.goto(&format!("{base}/ui/library/shelves"));
        browser.wait_for("four rows", |b| (table_labels(b).len() == 4).then_some(()));
        let search = browser.find("#search");
        assert!(
            search.attribute("placeholder").is_some_and(|p| p.contains("label")),
            "{backend:?}: the box says what it searches"
        );

        search.send_keys("RUST");
        let found = browser.wait_for("the three matches", |b| {
            let labels = table_labels(b);
            (labels.len() == 3).then_some(labels)
        });
        assert_eq!(found[0], "Rust rust rust", "{backend:?}: the best match first: {found:?}");
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(sorted, ["Rust and poetry here", "Rust rust rust", "Rusty nails"], "{backend:?}");
        assert!(browser.find_all("th[aria-sort]").is_empty(), "{backend:?}: relevance order marks no column");
        let location = browser.script("return location.search", vec![]);
        assert_eq!(location.as_str(), Some("?q=RUST"), "{backend:?}: the search is in the URL, no sort");

        browser.find("th button[data-sort=label]").click();
        browser.wait_for("the matches by label", |b| {
            (table_labels(b) == ["Rust and poetry here", "Rust rust rust", "Rusty nails"]).then_some(())
        });
        assert!(browser.script("return location.search", vec![]).as_str().unwrap_or("").contains("sort=label"));

        search.send_keys(" poet");
        browser.wait_for("both words", |b| (table_labels(b) == ["Rust and poetry here"]).then_some(()));
        search.clear();
        search.send_keys("zebra");
        browser.wait_for_text("tbody", "match this search.");

        browser.find("form.filters button[type=button]").click();
        browser.wait_for("every row again", |b| (table_labels(b).len() == 4).then_some(()));
        assert_eq!(browser.find("#search").property("value").as_str(), Some(""), "{backend:?}");
        served.runtime.shutdown_timeout(Duration::from_secs(5));
    }
}
