#[entity_spec::entity_spec("tests/ui/constraints/invalid_pattern.json")]
pub mod model {}

fn main() {}
