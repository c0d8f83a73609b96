#[entity_spec::entity_spec("tests/ui/references/required_self_reference.json")]
pub mod model {}

fn main() {}
