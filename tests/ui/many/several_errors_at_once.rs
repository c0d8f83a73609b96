#[entity_spec::entity_spec("tests/ui/many/several_errors_at_once.json")]
pub mod model {}

fn main() {}
