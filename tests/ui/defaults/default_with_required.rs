#[entity_spec::entity_spec("tests/ui/defaults/default_with_required.json")]
pub mod model {}

fn main() {}
