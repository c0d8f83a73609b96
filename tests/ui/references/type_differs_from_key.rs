#[entity_spec::entity_spec("tests/ui/references/type_differs_from_key.json")]
pub mod model {}

fn main() {}
