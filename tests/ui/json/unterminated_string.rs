#[entity_spec::entity_spec("tests/ui/json/unterminated_string.json")]
pub mod model {}

fn main() {}
