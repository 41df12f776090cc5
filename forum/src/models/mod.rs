//! Queries of the forum's tables, one file per concept. Functions take any
//! [`deadpool_postgres::GenericClient`] so a handler can run them in a transaction.

pub mod categories;
pub mod polls;
pub mod posts;
pub mod threads;
pub mod tokens;
pub mod users;

pub use categories::{Category, CategoryTree, TreeEntry};
pub use threads::{Cursor, ThreadSummary};

/// Trims `s` and checks its length in characters.
pub fn text_field(
    name: &str,
    s: &str,
    min: usize,
    max: usize,
) -> Result<String, crate::error::AppError> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min {
        return Err(crate::error::AppError::invalid(format!(
            "{name} must have at least {min} characters"
        )));
    }
    if n > max {
        return Err(crate::error::AppError::invalid(format!(
            "{name} must have at most {max} characters"
        )));
    }
    Ok(t.to_string())
}
