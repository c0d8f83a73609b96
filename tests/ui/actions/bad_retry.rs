#[entity_spec::entity_spec("tests/ui/actions/bad_retry.json")]
pub mod model {}

fn main() {}
