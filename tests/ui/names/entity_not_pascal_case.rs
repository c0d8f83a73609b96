#[entity_spec::entity_spec("tests/ui/names/entity_not_pascal_case.json")]
pub mod model {}

fn main() {}
