#[entity_spec::entity_spec("tests/ui/access/bad_scopes.json")]
pub mod model {}

fn main() {}
