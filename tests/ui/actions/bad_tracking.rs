#[entity_spec::entity_spec("tests/ui/actions/bad_tracking.json")]
pub mod model {}

fn main() {}
