//! The reference spec expands, and the generated types behave as documented.

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {
    // Items written in the module are kept next to the generated ones.
    impl RawDataSource {
        pub fn label(&self) -> String {
            format!("{} ({})", self.name, self.sync_status)
        }
    }
}

use model::{RawDataSourceCreate, RawDataSourceSyncStatus};

fn main() {
    let input = RawDataSourceCreate::new("warehouse", "postgres://u:p@db/warehouse");
    assert_eq!(input.refresh_interval, 3600);
    assert!(input.validate().is_ok());
    let entity = input.into_entity(entity_spec::__private::uuid::Uuid::nil(), entity_spec::__private::chrono::Utc::now());
    assert_eq!(entity.sync_status, RawDataSourceSyncStatus::Pending);
    assert_eq!(entity.label(), "warehouse (pending)");
}
