//! The RawDataSource registry's domain types, generated from `specs/entities.json`.
//!
//! Run with `cargo run --example raw_data_sources`. It registers a few sources, validates
//! each one with the generated validators and prints what a client would see: the JSON of
//! the stored source (without its connection string) or every violation at once.

use entity_spec::__private::{chrono::Utc, serde_json, uuid::Uuid};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

use model::{RawDataSourceCreate, RawDataSourceSourceType};

fn main() {
    let mut warehouse = RawDataSourceCreate::new("warehouse", "postgres://etl:s3cr3t@db.internal:5432/warehouse");
    warehouse.source_type = Some(RawDataSourceSourceType::Database);
    warehouse.tags = Some(serde_json::json!(["finance", "nightly"]));

    let mut clickstream = RawDataSourceCreate::new("clickstream", "nats://stream.internal:4222/clicks");
    clickstream.source_type = Some(RawDataSourceSourceType::Stream);
    clickstream.refresh_interval = 300;

    // A request body as a client would send it, with three problems.
    let invalid: RawDataSourceCreate = serde_json::from_value(serde_json::json!({
        "name": "x".repeat(101),
        "source_type": "api",
        "connection_string": "   ",
        "refresh_interval": 5,
    }))
    .expect("the body has the right shape; its values are checked by validate()");

    for (label, input) in [("warehouse", warehouse), ("clickstream", clickstream), ("invalid", invalid)] {
        println!("== {label}");
        println!("   input (Debug, secret redacted): {input:?}");
        match input.validate() {
            Ok(()) => {
                let stored = input.into_entity(Uuid::now_v7(), Utc::now());
                let json = serde_json::to_string_pretty(&stored).expect("entities always serialize");
                println!("   valid; stored as (no connection_string in JSON):\n{json}");
            }
            Err(errors) => {
                println!("   rejected with {} violations:", errors.violations().len());
                for violation in errors.violations() {
                    println!("   - {} [{}]: {}", violation.field, violation.code, violation.message);
                }
            }
        }
    }
}
