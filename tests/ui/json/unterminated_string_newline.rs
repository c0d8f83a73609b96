#[entity_spec::entity_spec("tests/ui/json/unterminated_string_newline.json")]
pub mod model {}

fn main() {}
