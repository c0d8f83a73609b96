#[entity_spec::entity_spec("tests/ui/structure/unknown_field_key_with_suggestion.json")]
pub mod model {}

fn main() {}
