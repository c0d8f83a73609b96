#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

struct Connectors;

// `sync` is declared in the spec but not implemented.
impl model::RawDataSourceActions for Connectors {
    async fn test_connection(
        &self,
        _source: model::RawDataSource,
    ) -> Result<model::RawDataSourceTestConnectionResponse, entity_spec::ApiError> {
        Ok(model::RawDataSourceTestConnectionResponse { ok: true, latency_ms: 0, message: String::new() })
    }
}

fn main() {}
