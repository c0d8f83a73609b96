#[entity_spec::entity_spec("tests/ui/types/enum_without_values.json")]
pub mod model {}

fn main() {}
