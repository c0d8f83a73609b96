#[entity_spec::entity_spec("tests/ui/types/enum_uppercase_value.json")]
pub mod model {}

fn main() {}
