#[entity_spec::entity_spec("tests/ui/defaults/default_too_long.json")]
pub mod model {}

fn main() {}
