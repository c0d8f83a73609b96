#[entity_spec::entity_spec("tests/ui/indexes/duplicate_index.json")]
pub mod model {}

fn main() {}
