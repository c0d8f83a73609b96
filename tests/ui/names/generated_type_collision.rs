#[entity_spec::entity_spec("tests/ui/names/generated_type_collision.json")]
pub mod model {}

fn main() {}
