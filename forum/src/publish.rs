//! Writing a reply or a new thread under the anti-spam rules ([`crate::antispam`]), for pages
//! and the API alike: refused, written, or queued for a moderator. The rules are checked in the
//! transaction that writes, with the author's row locked, so two posts sent at once cannot both
//! slip through the flood control. Whom a post notifies is written in the same transaction.

use deadpool_postgres::Object;

use crate::antispam::{self, Route};
use crate::config::SpamRules;
use crate::error::AppError;
use crate::models::moderation_queue;
use crate::models::notifications;
use crate::models::polls::NewPoll;
use crate::models::posts::{self, PostBody};
use crate::models::threads::{self, ThreadTitle};
use crate::models::users::User;
use crate::safety_metrics::SafetyMetrics;

/// What became of a post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Published {
    /// Written: the id of the post (a reply) or of the thread (a new thread).
    Written(i64),
    /// Waiting in the moderation queue under this id.
    Queued(i64),
}

/// The rules and where refusals are counted.
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    /// The rules.
    pub spam: &'a SpamRules,
    /// The counters.
    pub metrics: &'a SafetyMetrics,
}

/// Replies to `thread_id` as `user` from `ip`.
pub async fn reply(
    client: &mut Object,
    rules: Rules<'_>,
    user: &User,
    ip: &str,
    thread_id: i64,
    body: &PostBody,
) -> Result<Published, AppError> {
    let tx = client.transaction().await?;
    let route =
        antispam::check_post(&tx, rules.spam, rules.metrics, user, ip, body.as_str()).await?;
    let published = match route {
        Route::Publish => {
            let id = posts::reply(&tx, thread_id, user, body).await?;
            notifications::post_written(&tx, thread_id, id, user.id, body.as_str()).await?;
            Published::Written(id)
        }
        Route::Queue => {
            Published::Queued(moderation_queue::enqueue_reply(&tx, thread_id, user, body).await?)
        }
    };
    tx.commit().await?;
    Ok(published)
}

/// A new thread.
#[derive(Clone, Copy)]
pub struct NewThread<'a> {
    /// Its category.
    pub category_id: i64,
    /// Its title.
    pub title: &'a ThreadTitle,
    /// Its first post.
    pub body: &'a PostBody,
    /// Its poll.
    pub poll: Option<&'a NewPoll>,
}

/// Starts `new` as `user` from `ip`. A thread that would wait in the queue cannot have a poll
/// (422).
pub async fn thread(
    client: &mut Object,
    rules: Rules<'_>,
    user: &User,
    ip: &str,
    new: NewThread<'_>,
) -> Result<Published, AppError> {
    let NewThread {
        category_id,
        title,
        body,
        poll,
    } = new;
    let tx = client.transaction().await?;
    let text = format!("{}\n{}", title.as_str(), body.as_str());
    let route = antispam::check_post(&tx, rules.spam, rules.metrics, user, ip, &text).await?;
    let published = match route {
        Route::Publish => {
            let id = threads::create(&tx, category_id, user.id, title, body, poll).await?;
            let first = posts::first_id(&tx, id).await?;
            notifications::post_written(&tx, id, first, user.id, body.as_str()).await?;
            Published::Written(id)
        }
        Route::Queue if poll.is_some() => {
            return Err(AppError::invalid(
                "your first posts wait for a moderator, and a thread waiting cannot have a poll: \
                 start it without one",
            ));
        }
        Route::Queue => Published::Queued(
            moderation_queue::enqueue_thread(&tx, category_id, user.id, title, body).await?,
        ),
    };
    tx.commit().await?;
    Ok(published)
}

/// What a queued author is told.
pub const QUEUED_NOTICE: &str =
    "Thank you! Your post waits for a moderator's approval and will appear once approved.";
