//! Basic auth against the bcrypt hashes of a web config file, and the middleware that asks
//! for it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Basic auth against bcrypt hashes.
///
/// bcrypt is slow on purpose (tens of milliseconds), and Prometheus sends the same credentials
/// on every scrape, so a successful check is remembered by a SHA-256 of user and password; the
/// cache never holds the password itself and is cleared when it grows past a small bound.
#[derive(Clone)]
pub struct BasicAuth {
    users: Arc<BTreeMap<String, String>>,
    verified: Arc<Mutex<HashMap<[u8; 32], ()>>>,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // User names only: hashes are secrets too.
        f.debug_struct("BasicAuth")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

const VERIFIED_CACHE_LIMIT: usize = 1024;

impl BasicAuth {
    /// Checks every hash is a bcrypt hash.
    pub fn new(users: BTreeMap<String, String>) -> Result<BasicAuth, String> {
        for (user, hash) in &users {
            if bcrypt::HashParts::from_str(hash).is_err() {
                return Err(format!("the hash of user {user:?} is not a bcrypt hash"));
            }
        }
        Ok(BasicAuth {
            users: Arc::new(users),
            verified: Arc::default(),
        })
    }

    /// Whether `user` and `password` match. Runs bcrypt on a blocking thread when needed.
    pub async fn verify(&self, user: &str, password: &str) -> bool {
        let key: [u8; 32] = {
            let mut h = Sha256::new();
            h.update(user.as_bytes());
            h.update([0]);
            h.update(password.as_bytes());
            h.finalize().into()
        };
        if self.verified.lock().expect("cache lock").contains_key(&key) {
            return true;
        }
        // An unknown user is checked against a dummy hash so that timing does not tell
        // which user names exist.
        const DUMMY: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
        let hash = self.users.get(user).cloned();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.to_string());
        let password = password.to_string();
        let ok =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false)
                && known;
        if ok {
            let mut cache = self.verified.lock().expect("cache lock");
            if cache.len() >= VERIFIED_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, ());
        }
        ok
    }
}

/// Middleware: lets a request through only with credentials that [`BasicAuth`] accepts.
pub async fn require_basic_auth(
    State(auth): State<BasicAuth>,
    request: Request,
    next: Next,
) -> Response {
    let credentials = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    if let Some((user, password)) = credentials.as_deref().and_then(|c| c.split_once(':'))
        && auth.verify(user, password).await
    {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"exporter\""),
        )],
        "Unauthorized\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_right_password_passes_and_a_wrong_one_or_unknown_user_fails() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth::new([("prom".to_string(), hash)].into()).unwrap();
        assert!(auth.verify("prom", "s3cret").await);
        assert!(auth.verify("prom", "s3cret").await, "cached check");
        assert!(!auth.verify("prom", "wrong").await);
        assert!(!auth.verify("nobody", "s3cret").await);
        assert!(
            !format!("{auth:?}").contains("$2"),
            "Debug must not show hashes"
        );
    }
}
