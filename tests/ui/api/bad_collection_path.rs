#[entity_spec::entity_spec("tests/ui/api/bad_collection_path.json")]
pub mod model {}

fn main() {}
