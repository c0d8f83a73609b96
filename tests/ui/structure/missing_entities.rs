#[entity_spec::entity_spec("tests/ui/structure/missing_entities.json")]
pub mod model {}

fn main() {}
