#[entity_spec::entity_spec("tests/ui/json/missing_comma.json")]
pub mod model {}

fn main() {}
