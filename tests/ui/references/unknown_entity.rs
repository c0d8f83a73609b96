#[entity_spec::entity_spec("tests/ui/references/unknown_entity.json")]
pub mod model {}

fn main() {}
