#[entity_spec::entity_spec("tests/ui/references/cycle_between_entities.json")]
pub mod model {}

fn main() {}
