#[entity_spec::entity_spec("tests/ui/indexes/unknown_index_field.json")]
pub mod model {}

fn main() {}
