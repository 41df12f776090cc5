//! Named events (`nginx_events_total{event}`): rules over method, endpoint template and status.
//!
//! A rule's path is matched against the endpoint template (after normalisation), so it is
//! written as one: `/c/:id/new`; a trailing `*` matches any rest, and `*` alone any path. Which
//! rules can match an endpoint is worked out once, when the endpoint is first seen, as a bit
//! mask; per line only the method and status are compared.

use crate::record::method_index;

/// The most rules an event set may hold (bits of the per-endpoint mask).
pub const MAX_RULES: usize = 64;

/// Why an event rule is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The status is neither a code, a class nor `*`.
    #[error("invalid status {0:?}: expected a code (401), a class (5xx) or *")]
    Status(String),
    /// More rules than the event bits of a series.
    #[error("{0} event rules given; at most {MAX_RULES} are supported")]
    TooMany(usize),
    /// An event name that is not a label value of letters, digits and `_`.
    #[error("invalid event name {0:?}: use letters, digits and _")]
    Name(String),
}

/// What a rule's status must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusMatch {
    /// Any status.
    Any,
    /// Exactly this code.
    Code(u16),
    /// This class: `5` for `5xx`.
    Class(u16),
}

impl StatusMatch {
    /// Parses `401`, `5xx` or `*`.
    pub fn parse(s: &str) -> Result<StatusMatch, EventError> {
        let s = s.trim();
        if s == "*" || s.is_empty() {
            return Ok(StatusMatch::Any);
        }
        if let Some(class) = s
            .strip_suffix("xx")
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|c| (1..=9).contains(c))
        {
            return Ok(StatusMatch::Class(class));
        }
        match s.parse::<u16>() {
            Ok(code) if code < 1000 => Ok(StatusMatch::Code(code)),
            _ => Err(EventError::Status(s.to_string())),
        }
    }

    #[inline]
    fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Any => true,
            StatusMatch::Code(c) => c == status,
            StatusMatch::Class(c) => status / 100 == c,
        }
    }
}

/// One rule: `event` fires for `method path → status`.
#[derive(Clone, Debug)]
pub struct EventRule {
    /// The event name (label value).
    pub event: String,
    /// The method (`None`: any).
    pub method: Option<String>,
    /// The endpoint template; a trailing `*` matches any rest; `*` alone matches everything.
    pub path: String,
    /// The status.
    pub status: StatusMatch,
}

impl EventRule {
    /// A rule from its parts; `method` `*` means any.
    pub fn new(
        event: &str,
        method: &str,
        path: &str,
        status: &str,
    ) -> Result<EventRule, EventError> {
        Ok(EventRule {
            event: event.to_string(),
            method: (method != "*").then(|| method.to_ascii_uppercase()),
            path: path.to_string(),
            status: StatusMatch::parse(status)?,
        })
    }

    fn matches_endpoint(&self, endpoint: &[u8]) -> bool {
        match self.path.strip_suffix('*') {
            Some(prefix) => endpoint.starts_with(prefix.as_bytes()),
            None => endpoint == self.path.as_bytes(),
        }
    }
}

/// The rules of a preset: `forum`, `misago`, `none`.
pub fn preset_events(preset: &str) -> Option<Vec<EventRule>> {
    let rules: &[(&str, &str, &str, &str)] = match preset {
        // The forum's answers: pages redirect (303) or show a notice (200) and refuse a form
        // with 422; the API creates with 201, accepts what waits for a mail or an
        // administrator with 202 and acts with 204. A registration with an address already in
        // use is answered like one awaiting its mail (no account enumeration), so
        // `registration_pending` counts those too.
        "forum" => &[
            ("failed_login", "POST", "/login", "401"),
            ("failed_login", "POST", "/api/auth/login", "401"),
            ("login_refused", "POST", "/login", "429"),
            ("login_refused", "POST", "/api/auth/login", "429"),
            ("failed_admin_login", "POST", "/admin/login", "401"),
            ("thread_created", "POST", "/c/:id/new", "303"),
            ("thread_created", "POST", "/api/threads/", "201"),
            ("post_created", "POST", "/t/:id/reply", "303"),
            ("post_created", "POST", "/api/threads/:id/posts/", "201"),
            (
                "private_thread_created",
                "POST",
                "/api/private-threads/",
                "201",
            ),
            (
                "private_post_created",
                "POST",
                "/api/private-threads/:id/posts/",
                "201",
            ),
            ("attachment_uploaded", "POST", "/api/attachments/", "201"),
            ("user_registered", "POST", "/register", "303"),
            ("user_registered", "POST", "/api/users/", "201"),
            ("registration_pending", "POST", "/register", "200"),
            ("registration_pending", "POST", "/api/users/", "202"),
            ("account_activated", "GET", "/activate/:token", "200"),
            ("account_activated", "POST", "/api/auth/activate", "204"),
            ("password_reset_requested", "POST", "/password-reset", "200"),
            (
                "password_reset_requested",
                "POST",
                "/api/auth/password-reset",
                "202",
            ),
            ("password_reset", "POST", "/password-reset/:token", "200"),
            (
                "password_reset",
                "POST",
                "/api/auth/password-reset/confirm",
                "204",
            ),
            ("email_change_requested", "POST", "/api/me/email", "202"),
            ("email_changed", "GET", "/account/email/:token", "200"),
            ("email_changed", "POST", "/api/auth/email/confirm", "204"),
            // A mailed link that does not work (used, expired or guessed).
            ("invalid_token", "GET", "/activate/:token", "422"),
            ("invalid_token", "GET", "/password-reset/:token", "422"),
            ("invalid_token", "GET", "/account/email/:token", "422"),
            ("account_deleted", "POST", "/account/delete", "200"),
            ("account_deleted", "POST", "/api/me/delete", "204"),
            ("user_banned", "POST", "/admin/bans", "303"),
            (
                "user_banned",
                "POST",
                "/api/moderation/queue/:id/ban",
                "204",
            ),
            (
                "post_approved",
                "POST",
                "/api/moderation/queue/:id/approve",
                "204",
            ),
            ("server_error", "*", "*", "5xx"),
        ],
        // Misago's API answers 200 to what it creates and 400 to what it refuses.
        "misago" => &[
            ("failed_login", "POST", "/api/auth/", "400"),
            ("failed_admin_login", "POST", "/admincp/", "200"),
            ("thread_created", "POST", "/api/threads/", "200"),
            ("post_created", "POST", "/api/threads/:id/posts/", "200"),
            (
                "private_thread_created",
                "POST",
                "/api/private-threads/",
                "200",
            ),
            (
                "private_post_created",
                "POST",
                "/api/private-threads/:id/posts/",
                "200",
            ),
            ("user_registered", "POST", "/api/users/", "200"),
            ("attachment_uploaded", "POST", "/api/attachments/", "200"),
            ("server_error", "*", "*", "5xx"),
        ],
        "none" => &[],
        _ => return None,
    };
    Some(
        rules
            .iter()
            .map(|(e, m, p, s)| EventRule::new(e, m, p, s).expect("valid preset rule"))
            .collect(),
    )
}

#[derive(Clone, Debug)]
struct Compiled {
    event: usize,
    method: Option<u8>,
    status: StatusMatch,
}

/// A compiled set of rules and the names of their events.
#[derive(Clone, Debug, Default)]
pub struct Events {
    names: Vec<String>,
    rules: Vec<EventRule>,
    compiled: Vec<Compiled>,
}

impl Events {
    /// Compiles `rules` (at most [`MAX_RULES`]).
    pub fn new(rules: Vec<EventRule>) -> Result<Events, EventError> {
        if rules.len() > MAX_RULES {
            return Err(EventError::TooMany(rules.len()));
        }
        let mut names: Vec<String> = Vec::new();
        let mut compiled = Vec::with_capacity(rules.len());
        for rule in &rules {
            if rule.event.is_empty()
                || !rule
                    .event
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(EventError::Name(rule.event.clone()));
            }
            let event = match names.iter().position(|n| *n == rule.event) {
                Some(i) => i,
                None => {
                    names.push(rule.event.clone());
                    names.len() - 1
                }
            };
            let method = rule.method.as_deref().map(|m| method_index(m.as_bytes()));
            compiled.push(Compiled {
                event,
                method,
                status: rule.status,
            });
        }
        Ok(Events {
            names,
            rules,
            compiled,
        })
    }

    /// The event names, in the order of their counters.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The rules whose path matches `endpoint`, as a bit mask.
    pub fn mask(&self, endpoint: &[u8]) -> u64 {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.matches_endpoint(endpoint))
            .fold(0, |mask, (i, _)| mask | (1 << i))
    }

    /// Adds one to `counts[event]` for each event a request fires (once per event).
    #[inline]
    pub fn fire(&self, mask: u64, method: u8, status: u16, counts: &mut [u64]) {
        let mut fired = self.fired(mask, method, status);
        while fired != 0 {
            counts[fired.trailing_zeros() as usize] += 1;
            fired &= fired - 1;
        }
    }

    /// The events a request fires, as a bit mask of event indices (at most [`MAX_RULES`]
    /// events, so they fit): a function of the endpoint's rule mask, the method and the status
    /// only, so the aggregator works it out once per series.
    #[inline]
    pub fn fired(&self, mut mask: u64, method: u8, status: u16) -> u64 {
        let mut fired: u64 = 0;
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let rule = &self.compiled[i];
            if rule.status.matches(status) && rule.method.is_none_or(|m| m == method) {
                fired |= 1 << rule.event;
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fire(events: &Events, method: &str, endpoint: &str, status: u16) -> Vec<u64> {
        let mut counts = vec![0; events.names().len()];
        events.fire(
            events.mask(endpoint.as_bytes()),
            method_index(method.as_bytes()),
            status,
            &mut counts,
        );
        counts
    }

    fn count(events: &Events, counts: &[u64], name: &str) -> u64 {
        counts[events.names().iter().position(|n| n == name).unwrap()]
    }

    #[test]
    fn forum_failed_logins_fire_on_401_only() {
        let e = Events::new(preset_events("forum").unwrap()).unwrap();
        assert_eq!(
            count(&e, &fire(&e, "POST", "/login", 401), "failed_login"),
            1
        );
        assert_eq!(
            count(
                &e,
                &fire(&e, "POST", "/api/auth/login", 401),
                "failed_login"
            ),
            1
        );
        assert_eq!(
            count(&e, &fire(&e, "POST", "/login", 303), "failed_login"),
            0
        );
        assert_eq!(
            count(&e, &fire(&e, "GET", "/login", 401), "failed_login"),
            0
        );
        assert_eq!(
            count(
                &e,
                &fire(&e, "POST", "/admin/login", 401),
                "failed_admin_login"
            ),
            1
        );
    }

    #[test]
    fn forum_creations_and_server_errors() {
        let e = Events::new(preset_events("forum").unwrap()).unwrap();
        assert_eq!(
            count(&e, &fire(&e, "POST", "/c/:id/new", 303), "thread_created"),
            1
        );
        assert_eq!(
            count(
                &e,
                &fire(&e, "POST", "/api/threads/:id/posts/", 201),
                "post_created"
            ),
            1
        );
        assert_eq!(
            count(&e, &fire(&e, "POST", "/register", 303), "user_registered"),
            1
        );
        let c = fire(&e, "GET", "/t/:id/", 502);
        assert_eq!(count(&e, &c, "server_error"), 1);
        assert_eq!(c.iter().sum::<u64>(), 1);
    }

    #[test]
    fn forum_account_moderation_and_upload_events() {
        let e = Events::new(preset_events("forum").unwrap()).unwrap();
        for (method, endpoint, status, event) in [
            ("POST", "/login", 429, "login_refused"),
            ("POST", "/api/auth/login", 429, "login_refused"),
            (
                "POST",
                "/api/private-threads/",
                201,
                "private_thread_created",
            ),
            (
                "POST",
                "/api/private-threads/:id/posts/",
                201,
                "private_post_created",
            ),
            ("POST", "/api/attachments/", 201, "attachment_uploaded"),
            ("POST", "/register", 200, "registration_pending"),
            ("POST", "/api/users/", 202, "registration_pending"),
            ("GET", "/activate/:token", 200, "account_activated"),
            ("POST", "/api/auth/activate", 204, "account_activated"),
            ("POST", "/password-reset", 200, "password_reset_requested"),
            (
                "POST",
                "/api/auth/password-reset",
                202,
                "password_reset_requested",
            ),
            ("POST", "/password-reset/:token", 200, "password_reset"),
            (
                "POST",
                "/api/auth/password-reset/confirm",
                204,
                "password_reset",
            ),
            ("POST", "/api/me/email", 202, "email_change_requested"),
            ("GET", "/account/email/:token", 200, "email_changed"),
            ("POST", "/api/auth/email/confirm", 204, "email_changed"),
            ("GET", "/activate/:token", 422, "invalid_token"),
            ("GET", "/password-reset/:token", 422, "invalid_token"),
            ("GET", "/account/email/:token", 422, "invalid_token"),
            ("POST", "/account/delete", 200, "account_deleted"),
            ("POST", "/api/me/delete", 204, "account_deleted"),
            ("POST", "/admin/bans", 303, "user_banned"),
            ("POST", "/api/moderation/queue/:id/ban", 204, "user_banned"),
            (
                "POST",
                "/api/moderation/queue/:id/approve",
                204,
                "post_approved",
            ),
        ] {
            let c = fire(&e, method, endpoint, status);
            assert_eq!(count(&e, &c, event), 1, "{method} {endpoint} {status}");
            assert_eq!(c.iter().sum::<u64>(), 1, "{method} {endpoint} {status}");
        }
        // Forms shown, refused or read fire nothing.
        for (method, endpoint, status) in [
            ("GET", "/password-reset/:token", 200),
            ("POST", "/password-reset/:token", 422),
            ("POST", "/register", 422),
            ("GET", "/api/attachments/", 200),
            ("POST", "/api/attachments/", 413),
            ("GET", "/attachments/:id/:filename", 200),
            ("POST", "/api/notifications/read", 204),
        ] {
            let c = fire(&e, method, endpoint, status);
            assert_eq!(c.iter().sum::<u64>(), 0, "{method} {endpoint} {status}");
        }
    }

    #[test]
    fn misago_failed_admin_login_is_a_200_on_admincp() {
        let e = Events::new(preset_events("misago").unwrap()).unwrap();
        assert_eq!(
            count(
                &e,
                &fire(&e, "POST", "/admincp/", 200),
                "failed_admin_login"
            ),
            1
        );
        assert_eq!(
            count(
                &e,
                &fire(&e, "POST", "/admincp/", 302),
                "failed_admin_login"
            ),
            0
        );
        assert_eq!(
            count(&e, &fire(&e, "POST", "/api/auth/", 400), "failed_login"),
            1
        );
    }

    #[test]
    fn misago_replies_registrations_private_threads_and_uploads() {
        let e = Events::new(preset_events("misago").unwrap()).unwrap();
        for (endpoint, event) in [
            ("/api/threads/", "thread_created"),
            ("/api/threads/:id/posts/", "post_created"),
            ("/api/private-threads/", "private_thread_created"),
            ("/api/private-threads/:id/posts/", "private_post_created"),
            ("/api/users/", "user_registered"),
            ("/api/attachments/", "attachment_uploaded"),
        ] {
            let created = fire(&e, "POST", endpoint, 200);
            assert_eq!(count(&e, &created, event), 1, "{endpoint}");
            assert_eq!(created.iter().sum::<u64>(), 1, "{endpoint}");
            // A refused form (400), a read or a denied request fire nothing.
            for (method, status) in [("POST", 400), ("GET", 200), ("POST", 403)] {
                let c = fire(&e, method, endpoint, status);
                assert_eq!(c.iter().sum::<u64>(), 0, "{method} {endpoint} {status}");
            }
        }
        // An edit of a post or a vote is not a creation.
        let edit = fire(&e, "POST", "/api/threads/:id/posts/:id/", 200);
        assert_eq!(edit.iter().sum::<u64>(), 0);
        let c = fire(&e, "POST", "/api/threads/:id/posts/", 502);
        assert_eq!(count(&e, &c, "server_error"), 1);
        assert_eq!(count(&e, &c, "post_created"), 0);
    }

    #[test]
    fn statuses_parse_and_bad_ones_are_errors() {
        assert_eq!(StatusMatch::parse("5xx"), Ok(StatusMatch::Class(5)));
        assert_eq!(StatusMatch::parse("401"), Ok(StatusMatch::Code(401)));
        assert_eq!(StatusMatch::parse("*"), Ok(StatusMatch::Any));
        assert!(StatusMatch::parse("abc").is_err());
        assert!(
            EventRule::new("bad name", "*", "*", "*")
                .map(|r| Events::new(vec![r]))
                .unwrap()
                .is_err()
        );
    }
}
