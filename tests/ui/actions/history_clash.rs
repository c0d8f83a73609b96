#[entity_spec::entity_spec("tests/ui/actions/history_clash.json")]
pub mod model {}

fn main() {}
