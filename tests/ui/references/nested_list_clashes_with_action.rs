#[entity_spec::entity_spec("tests/ui/references/nested_list_clashes_with_action.json")]
pub mod model {}

fn main() {}
