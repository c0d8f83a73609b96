#[entity_spec::entity_spec("tests/ui/references/reference_in_action_body.json")]
pub mod model {}

fn main() {}
