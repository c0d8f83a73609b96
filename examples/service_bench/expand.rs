//! `SERVICE_BENCH_CALIBRATE=expand`: what embedding a reference costs a list, end to end. The
//! reference spec has no references, so this part serves the library spec
//! (`tests/specs/library.json`) from a child process, as the other parts serve theirs: 2,000
//! books and 2,000 members and 20,000 loans referring to them (written through the API, in
//! this process, before the child starts), then `GET /loans?limit=50` against the same page
//! with `expand=book` and with `expand=book,member`, alternating which goes first in each
//! round; the ratio is the median of the per-round ratios of requests per second.

use std::sync::Arc;
use std::time::Duration;

use entity_spec::api_keys::{self, NewKey};
use entity_spec::{AuthConfig, Db, MigrateOptions};
use serde_json::Value;
use tokio::runtime::Handle;

use crate::load::{self, Config, Stats, Workload};
use crate::{BoxError, CONNECTIONS, Engine, Scratch, Service, Settings, expect, fetch, median, summarize};

#[entity_spec::entity_spec("tests/specs/library.json")]
pub mod library {}

#[path = "../shared/library_seed.rs"]
mod library_seed;

use library_seed::NoActions;

/// The child's service kind for this part.
pub const LIBRARY: &str = "library";

const LOANS: usize = 20_000;
const PARENTS: usize = 2_000;
const PLAIN: &str = "/loans?limit=50";
const VARIANTS: [(&str, &str); 2] = [
    ("`expand=book` (one reference)", "/loans?limit=50&expand=book"),
    ("`expand=book,member` (two)", "/loans?limit=50&expand=book,member"),
];

/// The library service as the child serves it: API keys checked, audit and metrics on, as in
/// production.
pub fn router(db: Db) -> axum::Router {
    library::service(db, NoActions).with_auth(AuthConfig::api_keys()).router()
}

/// The part on one engine: a scratch database, seeded, served, measured, removed.
pub async fn bench(engine: &Engine, client: &Handle, settings: &Settings) -> Result<String, BoxError> {
    let scratch = Scratch::create(engine, LIBRARY).await?;
    let result = seed_and_measure(engine, client, settings, &scratch.url).await;
    scratch.remove().await;
    result
}

async fn seed_and_measure(
    engine: &Engine,
    client: &Handle,
    settings: &Settings,
    url: &str,
) -> Result<String, BoxError> {
    eprintln!("== {}: seeding {PARENTS} books and members, {LOANS} loans", engine.label());
    let db = Db::connect(url).await?;
    library::migrate(&db, MigrateOptions::default()).await?;
    let admin = NewKey { name: "bench".to_owned(), scopes: vec!["admin".to_owned()], expires_at: None };
    let key = api_keys::create(&db, admin).await?.0.expose().clone();
    seed(&db).await?;
    if matches!(engine, Engine::Postgres { .. }) {
        // What autovacuum would do shortly after a bulk load, so plans do not change mid-run.
        let mut analyze = entity_spec::__private::runtime::storage::db::Sql::new(db.backend());
        analyze.push("VACUUM ANALYZE");
        db.execute(analyze).await?;
    }
    db.close().await;

    let service = Service::start(LIBRARY, LIBRARY, url, &key)?;
    let result = measure(engine, client, settings, &service).await;
    service.stop().await;
    result
}

/// Books, members and loans through the generated router in this process (so every row is as
/// the service writes it), with authentication off.
async fn seed(db: &Db) -> Result<(), BoxError> {
    let app = library::service(db.clone(), NoActions).with_auth(AuthConfig::off()).router();
    library_seed::seed_loans(&app, PARENTS, LOANS).await
}

async fn measure(engine: &Engine, client: &Handle, settings: &Settings, service: &Service) -> Result<String, BoxError> {
    // The pages are the same pages: every loan of each embeds the book it names.
    let (status, plain, _) = fetch(service, "GET", PLAIN, None).await?;
    let (expanded_status, expanded, _) = fetch(service, "GET", VARIANTS[0].1, None).await?;
    expect(status == 200 && expanded_status == 200, || format!("lists answered {status} and {expanded_status}"))?;
    let ids =
        |page: &Value| page["items"].as_array().map(|items| items.iter().map(|i| i["id"].clone()).collect::<Vec<_>>());
    expect(ids(&plain) == ids(&expanded) && ids(&plain).is_some_and(|ids| ids.len() == 50), || {
        "the expanded page is not the plain page".to_owned()
    })?;
    expect(expanded["items"][0]["book"]["id"] == expanded["items"][0]["book_id"], || {
        format!("the book is not embedded: {}", expanded["items"][0])
    })?;

    let config =
        Config { connections: CONNECTIONS, warmup: 100, max_requests: 5_000, max_time: Duration::from_millis(700) };
    let workload = |path: &str| {
        let (path, headers) = (path.to_owned(), service.load_headers.clone());
        Workload {
            expect: 200,
            make: Arc::new(move |_: &mut load::Ctx, out: &mut Vec<u8>| load::get(out, &path, &headers)),
        }
    };
    let mut out = format!(
        "\n## {}: `GET {PLAIN}` over {LOANS} loans against the same page with `expand`, median of {} rounds\n\n\
         | variant | plain req/s | variant req/s | cost (plain / variant req/s) | p50 plain / variant | service CPU per request plain / variant |\n\
         |---|---:|---:|---:|---:|---:|\n",
        engine.label(),
        settings.rounds
    );
    for (label, path) in VARIANTS {
        let mut runs: [Vec<Stats>; 2] = [Vec::new(), Vec::new()];
        for round in 0..settings.rounds {
            let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for index in order {
                let workload = workload(if index == 0 { PLAIN } else { path });
                let seed = 0x5eed_0000 + round as u64;
                runs[index].push(client.spawn(load::run(service.addr, service.pid(), workload, config, seed)).await??);
            }
            eprintln!("  {label} round {}/{}", round + 1, settings.rounds);
        }
        let errors: u64 = runs.iter().flatten().map(|stats| stats.errors).sum();
        expect(errors == 0, || format!("{label}: {errors} unexpected statuses"))?;
        let mut costs: Vec<f64> = runs[0].iter().zip(&runs[1]).map(|(p, v)| p.throughput() / v.throughput()).collect();
        let (Some(plain), Some(variant)) = (summarize(&runs[0]), summarize(&runs[1])) else { continue };
        out.push_str(&format!(
            "| {label} | {:.0} | {:.0} | {:.2} | {:.2} / {:.2} ms | {:.0} / {:.0} µs |\n",
            plain.rps,
            variant.rps,
            median(&mut costs),
            plain.p50,
            variant.p50,
            plain.cpu_us.unwrap_or(f64::NAN),
            variant.cpu_us.unwrap_or(f64::NAN),
        ));
    }
    Ok(out)
}
