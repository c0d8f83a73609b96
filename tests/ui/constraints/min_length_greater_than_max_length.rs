#[entity_spec::entity_spec("tests/ui/constraints/min_length_greater_than_max_length.json")]
pub mod model {}

fn main() {}
