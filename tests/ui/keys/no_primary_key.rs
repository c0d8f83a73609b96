#[entity_spec::entity_spec("tests/ui/keys/no_primary_key.json")]
pub mod model {}

fn main() {}
