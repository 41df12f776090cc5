//! The mail service's error.

/// What can go wrong configuring or running the mail service.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A setting is invalid (the message never holds a password).
    #[error("{0}")]
    Config(String),
    /// A template failed to render.
    #[error("cannot render a mail: {0}")]
    Template(#[from] askama::Error),
    /// The database refused a query.
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No database connection.
    #[error("database pool error: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}
