#[entity_spec::entity_spec("tests/ui/types/unknown_type_with_suggestion.json")]
pub mod model {}

fn main() {}
