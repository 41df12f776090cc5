//! The forum's domain: its types (users and their roles, threads, posts, polls, categories,
//! jobs), the validated input types ([`threads::ThreadTitle`], [`posts::PostBody`]), the
//! permission checks, and the SQL. One file per concept; functions take any
//! [`deadpool_postgres::GenericClient`] so a handler can run them in a transaction. Nothing
//! here renders HTML or knows about requests.

pub mod accounts;
pub mod attachments;
pub mod bans;
pub mod best_answer;
pub mod categories;
pub mod edit_limit;
pub mod jobs;
pub mod members;
pub mod moderation_queue;
pub mod names;
pub mod notifications;
pub mod permissions;
pub mod policy;
pub mod poll_admin;
pub mod polls;
pub mod post_actions;
pub mod posts;
pub mod preferences;
pub mod private_threads;
pub mod reads;
pub mod roles;
pub mod search;
pub mod search_filters;
pub mod stats;
pub mod text;
pub mod thread_actions;
pub mod thread_ops;
pub mod threads;
pub mod tokens;
pub mod users;
pub mod visibility;
pub mod visit;
pub mod watching;

pub use categories::{Category, CategoryTree, TreeEntry};
pub use threads::{Cursor, ThreadSummary};
