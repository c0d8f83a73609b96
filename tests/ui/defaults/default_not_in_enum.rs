#[entity_spec::entity_spec("tests/ui/defaults/default_not_in_enum.json")]
pub mod model {}

fn main() {}
