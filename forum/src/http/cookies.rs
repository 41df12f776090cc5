//! The forum's cookies: reading them, writing `Set-Cookie` values (HttpOnly, SameSite=Lax,
//! Secure when served over HTTPS), and the CSRF token of a request.

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};

use crate::config::Config;

/// The cookie of a user session.
pub const SESSION_COOKIE: &str = "forum_session";
/// The cookie of an admin-panel session (path `/admin`).
pub const ADMIN_COOKIE: &str = "forum_admin";
/// The CSRF double-submit cookie.
pub const CSRF_COOKIE: &str = "forum_csrf";

/// The CSRF token of the request, put in the extensions by the `csrf_cookie` middleware.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// The value of cookie `name` in `headers`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when `secure`; `max_age` None deletes.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
    secure: bool,
) -> HeaderValue {
    let age = max_age.unwrap_or(0);
    let secure = if secure { "; Secure" } else { "" };
    let s = format!("{name}={value}; Path={path}; Max-Age={age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Whether cookies of this request must be `Secure`.
pub fn secure(config: &Config, headers: &HeaderMap) -> bool {
    config.secure_cookies
        || (config.trust_proxy
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                == Some("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_several_headers() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; forum_session=tok"));
        h.append(COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn cookies_are_http_only_and_secure_on_request() {
        let v = set_cookie("n", "v", "/", Some(60), true);
        assert_eq!(
            v.to_str().unwrap(),
            "n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
