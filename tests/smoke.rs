#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

#[test]
fn builds() {
    let input = model::RawDataSourceCreate::new("", "postgres://u:p@h/db");
    println!("{input:?}");
    println!("{:?}", input.validate());
}
