#[entity_spec::entity_spec("tests/ui/json/missing_colon.json")]
pub mod model {}

fn main() {}
