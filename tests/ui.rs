//! Compiler-message tests: every class of spec error under `tests/ui/<class>/`, each case a
//! `.rs` file, the `.json` spec it names and the checked-in `.stderr` the compiler must print.
//! `tests/ui/pass/` holds specs and code that must compile and run.
//!
//! Refresh the `.stderr` files after an intended message change with
//! `TRYBUILD=overwrite cargo test --test ui`, then review the diff.

#[test]
fn ui() {
    // trybuild compiles each case in a scratch crate, so spec paths are resolved against this
    // crate's root through the macro's override instead of the scratch crate's manifest dir.
    // SAFETY: no other thread of this test binary reads or writes the environment.
    unsafe { std::env::set_var("ENTITY_SPEC_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR")) };
    let cases = trybuild::TestCases::new();
    for entry in std::fs::read_dir("tests/ui").expect("tests/ui exists") {
        let class = entry.expect("readable tests/ui").path();
        if class.is_dir() && !class.ends_with("pass") {
            cases.compile_fail(class.join("*.rs"));
        }
    }
    cases.pass("tests/ui/pass/*.rs");
}
