#[entity_spec::entity_spec("tests/ui/structure/wrong_json_type.json")]
pub mod model {}

fn main() {}
