//! The reference spec's custom actions as the benchmarks serving it (`service_bench`,
//! `request_metrics_bench`) stand them in: they measure CRUD and never call an action. Each
//! includes this file with `#[path]` beside the `model` module it generates.

use entity_spec::ApiError;

use super::model;

/// Actions that reach nothing.
pub struct NoActions;

impl model::RawDataSourceActions for NoActions {
    async fn sync(&self, _source: &mut model::RawDataSource) -> Result<String, String> {
        Err("not available in the benchmark".to_owned())
    }

    async fn test_connection(
        &self,
        _source: model::RawDataSource,
    ) -> Result<model::RawDataSourceTestConnectionResponse, ApiError> {
        Ok(model::RawDataSourceTestConnectionResponse {
            ok: false,
            latency_ms: 0,
            message: "not available in the benchmark".to_owned(),
        })
    }
}
