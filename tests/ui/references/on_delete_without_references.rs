#[entity_spec::entity_spec("tests/ui/references/on_delete_without_references.json")]
pub mod model {}

fn main() {}
