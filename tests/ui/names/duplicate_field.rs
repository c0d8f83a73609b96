#[entity_spec::entity_spec("tests/ui/names/duplicate_field.json")]
pub mod model {}

fn main() {}
