#[entity_spec::entity_spec("tests/ui/references/unknown_on_delete.json")]
pub mod model {}

fn main() {}
