//! The forum's domain: its types (users and their roles, threads, posts, polls, categories,
//! jobs), the validated input types ([`threads::ThreadTitle`], [`posts::PostBody`]), the
//! permission checks, and the SQL. One file per concept; functions take any
//! [`deadpool_postgres::GenericClient`] so a handler can run them in a transaction. Nothing
//! here renders HTML or knows about requests.

pub mod categories;
pub mod jobs;
pub mod policy;
pub mod polls;
pub mod posts;
pub mod search;
pub mod stats;
pub mod threads;
pub mod tokens;
pub mod users;

pub use categories::{Category, CategoryTree, TreeEntry};
pub use threads::{Cursor, ThreadSummary};

use crate::error::AppError;

/// Trims `s` and checks its length in characters; the 422 names the field as `name`.
pub fn text_field(name: &str, s: &str, min: usize, max: usize) -> Result<String, AppError> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min {
        return Err(AppError::invalid(format!(
            "{name} must have at least {min} characters"
        )));
    }
    if n > max {
        return Err(AppError::invalid(format!(
            "{name} must have at most {max} characters"
        )));
    }
    Ok(t.to_string())
}
