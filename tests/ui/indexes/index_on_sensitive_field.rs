#[entity_spec::entity_spec("tests/ui/indexes/index_on_sensitive_field.json")]
pub mod model {}

fn main() {}
