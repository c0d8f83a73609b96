#[entity_spec::entity_spec("tests/ui/references/expansion_clashes_with_field.json")]
pub mod model {}

fn main() {}
