//! Placeholder until the issue that builds this crate lands.
fn main() {}
