#[entity_spec::entity_spec("tests/ui/api/duplicate_action.json")]
pub mod model {}

fn main() {}
