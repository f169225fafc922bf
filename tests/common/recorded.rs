//! The AWS answer fixtures (`tests/fixtures/aws`, each with its source in
//! the README there), as the bodies a mocked client answers with: the SDK's
//! own deserializer reads them, then the tool's logic runs over them.

/// The body of the fixture `name` (a file of `tests/fixtures/aws`).
pub fn body(name: &str) -> String {
    let path = format!("{}/tests/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
