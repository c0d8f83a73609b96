#[entity_spec::entity_spec("tests/ui/json/bare_entity.json")]
pub mod model {}

fn main() {}
