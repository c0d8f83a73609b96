#[entity_spec::entity_spec("tests/ui/types/values_on_non_enum.json")]
pub mod model {}

fn main() {}
