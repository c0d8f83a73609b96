#[entity_spec::entity_spec("tests/ui/keys/non_uuid_primary_key.json")]
pub mod model {}

fn main() {}
