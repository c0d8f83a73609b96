#[entity_spec::entity_spec("tests/ui/names/field_is_rust_keyword.json")]
pub mod model {}

fn main() {}
