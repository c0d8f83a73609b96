#[entity_spec::entity_spec(42)]
pub mod model {}

fn main() {}
