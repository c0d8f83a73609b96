#[entity_spec::entity_spec("tests/ui/types/searchable_on_wrong_field.json")]
pub mod model {}

fn main() {}
