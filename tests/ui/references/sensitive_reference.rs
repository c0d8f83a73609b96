#[entity_spec::entity_spec("tests/ui/references/sensitive_reference.json")]
pub mod model {}

fn main() {}
