#[entity_spec::entity_spec("tests/ui/structure/duplicate_key.json")]
pub mod model {}

fn main() {}
