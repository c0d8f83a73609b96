#[entity_spec::entity_spec("tests/ui/keys/two_primary_keys.json")]
pub mod model {}

fn main() {}
