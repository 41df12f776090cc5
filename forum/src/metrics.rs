//! The metrics of a process, served at `GET /metrics` of each role and of the worker:
//! `forum_build_info`, `forum_http_requests_total{role,method,status}`,
//! `forum_http_request_duration_seconds{role}`,
//! `forum_login_failures_total{door,account}` and, in the worker,
//! `forum_jobs_total{kind,outcome}`; the account metrics of `accounts::metrics`; the
//! attachment metrics of `attachments::metrics`; the read cache's of `cache::metrics`; `forum_permission_denied_total{action}` and
//! `forum_private_threads_created_total`. The middleware that counts requests is `http::middleware`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::accounts::metrics::AccountMetrics;
use crate::config::Role;

/// Labels of `forum_http_requests_total`: all bounded (three roles, a fixed set of methods,
/// status codes).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `web`, `api`, `all`.
    pub role: &'static str,
    /// The method, or `OTHER`.
    pub method: &'static str,
    /// The status code.
    pub status: u16,
}

/// Labels of the duration histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoleLabels {
    /// `web`, `api`, `all`.
    pub role: &'static str,
}

/// Labels of `forum_jobs_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// A known job kind or `unknown`.
    pub kind: &'static str,
    /// `done`, `retry` or `failed`.
    pub outcome: &'static str,
}

/// Labels of `forum_login_failures_total`: both bounded.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginFailureLabels {
    /// Where the login was tried: `page` (`/login`), `api` (`/api/auth/login`), `admin`
    /// (`/admin/login`).
    pub door: &'static str,
    /// The role of the account tried (`admin`, `moderator`, `member`), or `unknown` when no
    /// such account exists.
    pub account: &'static str,
}

/// The login doors, by label value.
pub const LOGIN_DOORS: [&str; 3] = ["page", "api", "admin"];

/// The account label values of failed logins.
pub const LOGIN_ACCOUNTS: [&str; 4] = ["admin", "moderator", "member", "unknown"];

/// The metrics of one process.
pub struct Metrics {
    role: Role,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily,
    jobs: Family<JobLabels, Counter>,
    /// Logins refused or slowed, spam refused.
    pub safety: crate::safety_metrics::SafetyMetrics,
    login_failures: Family<LoginFailureLabels, Counter>,
    accounts: AccountMetrics,
    /// Merges, moves, splits, polls and best answers managed.
    pub moderation: crate::moderation_metrics::ModerationMetrics,
    attachments: std::sync::Arc<crate::attachments::metrics::AttachmentMetrics>,
    read_cache: crate::cache::CacheMetrics,
}

impl Metrics {
    /// The registry of a process of `role`.
    pub fn new(role: Role) -> Metrics {
        let mut registry = Registry::default();
        service_kit::build_info::register_build_info(
            &mut registry,
            "forum",
            env!("CARGO_PKG_VERSION"),
        );
        service_kit::process::register(&mut registry);
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "forum_http_requests",
            "HTTP requests answered, by role, method and status",
            requests.clone(),
        );
        let duration = Family::<RoleLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))) as fn() -> Histogram,
        );
        // Registered without a unit argument: the name already ends in `_seconds`.
        registry.register(
            "forum_http_request_duration_seconds",
            "Time to answer an HTTP request",
            duration.clone(),
        );
        let jobs = Family::<JobLabels, Counter>::default();
        registry.register(
            "forum_jobs",
            "Background jobs run, by kind and outcome",
            jobs.clone(),
        );
        let safety = crate::safety_metrics::SafetyMetrics::register(&mut registry);
        let login_failures = Family::<LoginFailureLabels, Counter>::default();
        registry.register(
            "forum_login_failures",
            "Failed logins (answered 401) by door and by the role of the account tried",
            login_failures.clone(),
        );
        // The doors this role serves start at 0, so a first burst shows as an increase.
        for door in LOGIN_DOORS {
            let served = match door {
                "api" => role.serves_api(),
                _ => role.serves_web(),
            };
            if !served {
                continue;
            }
            for account in LOGIN_ACCOUNTS {
                login_failures
                    .get_or_create(&LoginFailureLabels { door, account })
                    .inc_by(0);
            }
        }
        let accounts = AccountMetrics::register(&mut registry);
        let moderation = crate::moderation_metrics::ModerationMetrics::register(&mut registry);
        let attachments = std::sync::Arc::new(
            crate::attachments::metrics::AttachmentMetrics::register(&mut registry),
        );
        register_permissions(&mut registry);
        let read_cache = crate::cache::CacheMetrics::register(&mut registry);
        Metrics {
            read_cache,
            moderation,
            attachments,
            role,
            safety,
            registry,
            requests,
            duration,
            jobs,
            login_failures,
            accounts,
        }
    }

    /// Registers the mail metrics (`forum_emails_*`): only the worker, which sends the mails,
    /// serves them.
    pub fn register_mail(&mut self) -> crate::mail::metrics::MailMetrics {
        crate::mail::metrics::MailMetrics::register(&mut self.registry)
    }

    /// Registers the notification metrics (`forum_notifications_total`, the outbox gauges),
    /// served by the worker that mails notifications.
    pub fn register_notify(&mut self) -> crate::notify_mail::NotifyMetrics {
        crate::notify_mail::NotifyMetrics::register(&mut self.registry)
    }

    /// The exposition text (OpenMetrics; converted by content negotiation).
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(4096);
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// The read cache's counters ([`crate::cache::CacheMetrics`]).
    pub fn read_cache(&self) -> crate::cache::CacheMetrics {
        self.read_cache.clone()
    }

    /// Counts one answered request.
    pub fn observe(&self, method: &str, status: u16, seconds: f64) {
        let role = self.role.as_str();
        self.requests
            .get_or_create(&RequestLabels {
                role,
                method: method_label(method),
                status,
            })
            .inc();
        self.duration
            .get_or_create(&RoleLabels { role })
            .observe(seconds);
    }
}

impl Metrics {
    /// The account metrics (`forum_registrations_total`, `forum_account_events_total`).
    pub fn accounts(&self) -> &AccountMetrics {
        &self.accounts
    }

    /// Counts one job of `kind` (a known kind or `unknown`) that ended with `outcome` (`done`,
    /// `retry`, `failed`).
    pub fn count_job(&self, kind: &'static str, outcome: &'static str) {
        self.job_series(kind, outcome).inc();
    }

    /// The series of `kind` and `outcome` (created at 0 if new): the worker creates every one
    /// at start, so a quiet worker's rates read 0, not "no data".
    pub fn job_series(&self, kind: &'static str, outcome: &'static str) -> Counter {
        self.jobs
            .get_or_create(&JobLabels { kind, outcome })
            .clone()
    }
}

impl Metrics {
    /// The attachment metrics (`forum_attachment_*`).
    pub fn attachments(&self) -> std::sync::Arc<crate::attachments::metrics::AttachmentMetrics> {
        self.attachments.clone()
    }
}

impl Metrics {
    /// Counts one failed login through `door` (a [`LOGIN_DOORS`] value) against an account of
    /// role `account` (a [`LOGIN_ACCOUNTS`] value).
    pub fn count_login_failure(&self, door: &'static str, account: &'static str) {
        self.login_failures
            .get_or_create(&LoginFailureLabels { door, account })
            .inc();
    }
}

type HistogramFamily = Family<RoleLabels, Histogram, fn() -> Histogram>;

/// `forum_permission_denied_total{action}` (refusals of the permission policy, each action
/// from 0) and `forum_private_threads_created_total`: counted by the models, process-wide.
fn register_permissions(registry: &mut Registry) {
    registry.register(
        "forum_permission_denied",
        "Requests refused by the permission policy, by the permission that was missing (see, read, start, reply, moderate; private: a private thread of others)",
        crate::models::policy::denied_metric(),
    );
    registry.register(
        "forum_private_threads_created",
        "Private threads started",
        crate::models::private_threads::created_metric(),
    );
}

/// A bounded method label.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}
