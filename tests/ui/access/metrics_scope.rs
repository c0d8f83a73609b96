#[entity_spec::entity_spec("tests/ui/access/metrics_scope.json")]
pub mod model {}

fn main() {}
