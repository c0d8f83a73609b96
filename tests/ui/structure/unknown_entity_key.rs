#[entity_spec::entity_spec("tests/ui/structure/unknown_entity_key.json")]
pub mod model {}

fn main() {}
