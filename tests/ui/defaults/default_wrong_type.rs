#[entity_spec::entity_spec("tests/ui/defaults/default_wrong_type.json")]
pub mod model {}

fn main() {}
