#[entity_spec::entity_spec("tests/ui/defaults/default_below_min.json")]
pub mod model {}

fn main() {}
