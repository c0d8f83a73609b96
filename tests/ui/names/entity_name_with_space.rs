#[entity_spec::entity_spec("tests/ui/names/entity_name_with_space.json")]
pub mod model {}

fn main() {}
