#[entity_spec::entity_spec("tests/ui/names/field_not_snake_case.json")]
pub mod model {}

fn main() {}
