#[entity_spec::entity_spec("tests/ui/constraints/min_greater_than_max.json")]
pub mod model {}

fn main() {}
