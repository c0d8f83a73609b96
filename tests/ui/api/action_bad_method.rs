#[entity_spec::entity_spec("tests/ui/api/action_bad_method.json")]
pub mod model {}

fn main() {}
