#[entity_spec::entity_spec("tests/ui/types/enum_bad_value.json")]
pub mod model {}

fn main() {}
