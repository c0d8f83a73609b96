#[entity_spec::entity_spec("tests/ui/names/duplicate_entity.json")]
pub mod model {}

fn main() {}
