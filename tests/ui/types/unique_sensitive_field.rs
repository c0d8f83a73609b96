#[entity_spec::entity_spec("tests/ui/types/unique_sensitive_field.json")]
pub mod model {}

fn main() {}
