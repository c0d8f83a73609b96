#[entity_spec::entity_spec("tests/ui/access/bad_owner.json")]
pub mod model {}

fn main() {}
