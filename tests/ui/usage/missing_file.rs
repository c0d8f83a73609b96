#[entity_spec::entity_spec("tests/ui/usage/does_not_exist.json")]
pub mod model {}

fn main() {}
