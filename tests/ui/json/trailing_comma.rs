#[entity_spec::entity_spec("tests/ui/json/trailing_comma.json")]
pub mod model {}

fn main() {}
