#[entity_spec::entity_spec("tests/ui/constraints/float_bound_on_integer.json")]
pub mod model {}

fn main() {}
