#[entity_spec::entity_spec("tests/ui/usage/not_inline_module.json")]
pub mod model;

fn main() {}
