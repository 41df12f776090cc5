//! Notifications: what a member is told about (a reply in a thread they watch, an `@mention`,
//! a quote of their post, their post chosen as best answer, an invitation to a private thread),
//! written in the transaction of their cause, read on the site and mailed by the worker
//! (`notify_mail`) through the `outbox`.
//!
//! Rules, whatever the cause: nobody is told about their own act; nobody is told about a thread
//! they may not see ([`policy::may_see_thread`]); a member is told once per kind, thread and
//! post. Fan-out is bounded: a post notifies at most [`MAX_WATCHERS`] watchers (the longest
//! watching first) and at most [`crate::mentions::MAX_MENTIONS`] mentioned members and quoted
//! authors each.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::error::AppError;
use crate::mentions;
use crate::models::threads::{self, ThreadSummary};
use crate::models::users::{self, User};
use crate::models::visibility;

/// The most watchers one post notifies.
pub const MAX_WATCHERS: i64 = 1000;

/// The most notifications one page or API answer lists.
pub const PAGE: i64 = 50;

/// What a notification is about (`notifications.kind`, the `kind` label of the metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A reply in a thread the member watches.
    Reply,
    /// The member's `@name` in a post.
    Mention,
    /// A post quotes one of the member's posts.
    Quote,
    /// The member's post was chosen as the best answer.
    BestAnswer,
    /// The member was invited to a private thread.
    PrivateThread,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [
        Kind::Reply,
        Kind::Mention,
        Kind::Quote,
        Kind::BestAnswer,
        Kind::PrivateThread,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reply => "reply",
            Kind::Mention => "mention",
            Kind::Quote => "quote",
            Kind::BestAnswer => "best_answer",
            Kind::PrivateThread => "private_thread",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How a notification of this kind reads, after the actor's name.
    pub fn verb(self) -> &'static str {
        match self {
            Kind::Reply => "replied in",
            Kind::Mention => "mentioned you in",
            Kind::Quote => "quoted your post in",
            Kind::BestAnswer => "chose your post as the best answer in",
            Kind::PrivateThread => "invited you to the private thread",
        }
    }
}

/// One notification to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notification {
    /// What about.
    pub kind: Kind,
    /// Who is told.
    pub recipient: i64,
    /// The thread.
    pub thread_id: i64,
    /// The post (None: the thread as a whole, e.g. an invitation).
    pub post_id: Option<i64>,
    /// Who did it (never told themself).
    pub actor: Option<i64>,
}

/// Writes `n` in `tx` unless its recipient is its actor or may not see its thread; true when
/// written (false also when the same notification exists).
pub async fn notify(tx: &impl GenericClient, n: Notification) -> Result<bool, AppError> {
    let done = notify_many(tx, n.kind, &[n.recipient], n.thread_id, n.post_id, n.actor).await?;
    Ok(!done.is_empty())
}

/// Writes a notification of `kind` about `thread_id` / `post_id` by `actor` for each of
/// `recipients` who is not the actor, is active and may see the thread, and has none such yet;
/// queues its mail (an `outbox` row) for those who want e-mail. Returns who was notified.
pub async fn notify_many(
    tx: &impl GenericClient,
    kind: Kind,
    recipients: &[i64],
    thread_id: i64,
    post_id: Option<i64>,
    actor: Option<i64>,
) -> Result<Vec<i64>, AppError> {
    let mut ids: Vec<i64> = recipients
        .iter()
        .copied()
        .filter(|r| Some(*r) != actor)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let Some(thread) = threads::get(tx, thread_id, true).await? else {
        return Ok(Vec::new());
    };
    let allowed = visibility::readers_among(tx, &thread, &ids).await?;
    if allowed.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx
        .query(
            "WITH n AS (
                INSERT INTO notifications (user_id, kind, thread_id, post_id, actor_id)
                SELECT r, $2, $3, $4, $5 FROM unnest($1::bigint[]) AS r
                ON CONFLICT DO NOTHING
                RETURNING id, user_id, kind),
             o AS (
                INSERT INTO outbox (user_id, kind, payload, notification_id)
                SELECT n.user_id, n.kind, '{}'::jsonb, n.id
                FROM n JOIN users u ON u.id = n.user_id WHERE u.notify_email <> 'never')
             SELECT user_id FROM n",
            &[&allowed, &kind.as_str(), &thread_id, &post_id, &actor],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Everything post `post_id` of `thread_id`, written by `author` with Markdown `body`, tells
/// others, in `tx`: the authors of the posts it quotes, the members it mentions, then the
/// thread's watchers (each member once, by the first of these that applies).
pub async fn post_written(
    tx: &impl GenericClient,
    thread_id: i64,
    post_id: i64,
    author: i64,
    body: &str,
) -> Result<(), AppError> {
    let mut told: Vec<i64> = vec![author];
    let quoted = mentions::quoted_posts(body);
    if !quoted.is_empty() {
        let authors: Vec<i64> = tx
            .query(
                "SELECT DISTINCT user_id FROM posts
                 WHERE id = ANY($1) AND user_id IS NOT NULL AND NOT is_deleted",
                &[&quoted],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        told.extend(
            notify_many(
                tx,
                Kind::Quote,
                &authors,
                thread_id,
                Some(post_id),
                Some(author),
            )
            .await?,
        );
    }
    let names = mentions::names(body);
    if !names.is_empty() {
        let mentioned: Vec<i64> = users::members_named(tx, &names)
            .await?
            .into_values()
            .filter(|id| !told.contains(id))
            .collect();
        told.extend(
            notify_many(
                tx,
                Kind::Mention,
                &mentioned,
                thread_id,
                Some(post_id),
                Some(author),
            )
            .await?,
        );
    }
    let watchers: Vec<i64> = tx
        .query(
            "SELECT user_id FROM thread_watchers WHERE thread_id = $1 AND user_id <> ALL($2)
             ORDER BY created_at, user_id LIMIT $3",
            &[&thread_id, &told, &MAX_WATCHERS],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    notify_many(
        tx,
        Kind::Reply,
        &watchers,
        thread_id,
        Some(post_id),
        Some(author),
    )
    .await?;
    Ok(())
}

/// A notification as the site and the API show it.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// Its id.
    pub id: i64,
    /// What about.
    pub kind: Kind,
    /// The thread.
    pub thread_id: i64,
    /// The thread's title.
    pub thread_title: String,
    /// The post.
    pub post_id: Option<i64>,
    /// Who did it.
    pub actor_id: Option<i64>,
    /// Their name.
    pub actor_name: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Whether the member has read it.
    pub read: bool,
}

impl Item {
    /// Where it leads: the post, or the thread.
    pub fn url(&self) -> String {
        match self.post_id {
            Some(p) => format!("/p/{p}/"),
            None => format!("/t/{}/", self.thread_id),
        }
    }
    /// "bob replied in", ...
    pub fn verb(&self) -> &'static str {
        self.kind.verb()
    }
}

/// The newest notifications of `user` (at most [`PAGE`]), those about threads they may no
/// longer see left out.
pub async fn list(client: &impl GenericClient, user: &User) -> Result<Vec<Item>, AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT n.id, n.kind, n.post_id, n.actor_id, a.username, n.created_at,
                    n.read_at IS NOT NULL, {}
             FROM notifications n
             JOIN threads t ON t.id = n.thread_id
             JOIN categories c ON c.id = t.category_id
             LEFT JOIN users u ON u.id = t.user_id
             LEFT JOIN users a ON a.id = n.actor_id
             WHERE n.user_id = $1 ORDER BY n.id DESC LIMIT $2",
            threads::SUMMARY_COLUMNS
        ))
        .await?;
    let rows = client.query(&stmt, &[&user.id, &PAGE]).await?;
    let view = visibility::MemberView::load(client, user).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let thread = thread_of(r, 7);
            if !view.sees(&thread) {
                return None;
            }
            Some(Item {
                id: r.get(0),
                kind: Kind::parse(r.get(1))?,
                thread_id: thread.id,
                thread_title: thread.title,
                post_id: r.get(2),
                actor_id: r.get(3),
                actor_name: r.get(4),
                created_at: r.get(5),
                read: r.get(6),
            })
        })
        .collect())
}

/// The summary columns of a thread starting at column `at` of `r`.
fn thread_of(r: &tokio_postgres::Row, at: usize) -> ThreadSummary {
    ThreadSummary {
        id: r.get(at),
        title: r.get(at + 1),
        category_id: r.get(at + 2),
        category_name: r.get(at + 3),
        user_id: r.get(at + 4),
        username: r.get(at + 5),
        created_at: r.get(at + 6),
        last_activity_at: r.get(at + 7),
        post_count: r.get(at + 8),
        is_pinned: r.get(at + 9),
        is_closed: r.get(at + 10),
        is_hidden: r.get(at + 11),
        best_answer_post_id: r.get(at + 12),
    }
}

/// How many notifications of `user_id` are unread.
pub async fn unread_count(client: &impl GenericClient, user_id: i64) -> Result<i64, AppError> {
    let stmt = client
        .prepare_cached("SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
        .await?;
    Ok(client.query_one(&stmt, &[&user_id]).await?.get(0))
}

/// Which notifications to mark read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Which {
    /// These ids (others' are ignored).
    Ids(Vec<i64>),
    /// All of them.
    All,
}

/// The most ids one request may mark.
pub const MAX_IDS: usize = 500;

/// Marks notifications of `user_id` read; returns how many were unread.
pub async fn mark_read(
    client: &impl GenericClient,
    user_id: i64,
    which: &Which,
) -> Result<u64, AppError> {
    Ok(match which {
        Which::All => client
            .execute(
                "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL",
                &[&user_id],
            )
            .await?,
        Which::Ids(ids) => {
            if ids.len() > MAX_IDS {
                return Err(AppError::invalid(format!(
                    "at most {MAX_IDS} ids at a time"
                )));
            }
            client
                .execute(
                    "UPDATE notifications SET read_at = now()
                     WHERE user_id = $1 AND id = ANY($2) AND read_at IS NULL",
                    &[&user_id, ids],
                )
                .await?
        }
    })
}

/// Opens notification `id` of `user_id`: marks it read and returns it (404 for another
/// member's or a missing one).
pub async fn open(client: &impl GenericClient, user: &User, id: i64) -> Result<Item, AppError> {
    client
        .execute(
            "UPDATE notifications SET read_at = now()
             WHERE id = $1 AND user_id = $2 AND read_at IS NULL",
            &[&id, &user.id],
        )
        .await?;
    list_one(client, user, id).await
}

async fn list_one(client: &impl GenericClient, user: &User, id: i64) -> Result<Item, AppError> {
    let row = client
        .query_opt(
            "SELECT n.kind, n.thread_id, n.post_id FROM notifications n WHERE n.id = $1 AND n.user_id = $2",
            &[&id, &user.id],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    let thread_id: i64 = row.get(1);
    let view = visibility::MemberView::load(client, user).await?;
    let thread = threads::get(client, thread_id, true)
        .await?
        .filter(|t| view.sees(t))
        .ok_or(AppError::NotFound)?;
    Ok(Item {
        id,
        kind: Kind::parse(row.get(0)).ok_or(AppError::NotFound)?,
        thread_id,
        thread_title: thread.title,
        post_id: row.get(2),
        actor_id: None,
        actor_name: None,
        created_at: Utc::now(),
        read: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("spam"), None);
    }
}
