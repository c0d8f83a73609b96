#[entity_spec::entity_spec("tests/ui/constraints/max_length_on_integer.json")]
pub mod model {}

fn main() {}
