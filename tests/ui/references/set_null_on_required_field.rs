#[entity_spec::entity_spec("tests/ui/references/set_null_on_required_field.json")]
pub mod model {}

fn main() {}
