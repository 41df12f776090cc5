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
use crate::models::policy::{self, Access};
use crate::models::polls::NewPoll;
use crate::models::posts::{self, PostBody};
use crate::models::threads::{self, ThreadTitle};
use crate::models::users::User;
use crate::models::visibility;
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

/// Replies to `thread_id` as `user` (holding `access`) from `ip`, as
/// [`policy::check_reply`] allows.
pub async fn reply(
    client: &mut Object,
    rules: Rules<'_>,
    user: &User,
    access: Access<'_>,
    ip: &str,
    thread_id: i64,
    body: &PostBody,
) -> Result<Published, AppError> {
    let tx = client.transaction().await?;
    let (thread, access) = visibility::visible_thread(&tx, thread_id, access).await?;
    policy::check_reply(access, &thread)?;
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

/// Starts `new` as `user` (holding `access`) from `ip`, as [`policy::check_start`] allows. A
/// thread that would wait in the queue cannot have a poll (422).
pub async fn thread(
    client: &mut Object,
    rules: Rules<'_>,
    user: &User,
    access: Access<'_>,
    ip: &str,
    new: NewThread<'_>,
) -> Result<Published, AppError> {
    let NewThread {
        category_id,
        title,
        body,
        poll,
    } = new;
    policy::check_start(access, category_id)?;
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

/// Starts a private thread of `user` from `ip` with the members named `participants`, under
/// the anti-spam rules: a member whose posts would wait for a moderator cannot start one
/// (403; nobody would approve what only its participants may see). Returns the thread's id
/// and the ids of the members invited (to notify).
pub async fn private_thread(
    client: &mut Object,
    rules: Rules<'_>,
    user: &User,
    ip: &str,
    title: &ThreadTitle,
    body: &PostBody,
    participants: &[String],
) -> Result<(i64, Vec<i64>), AppError> {
    let tx = client.transaction().await?;
    let text = format!("{}\n{}", title.as_str(), body.as_str());
    if antispam::check_post(&tx, rules.spam, rules.metrics, user, ip, &text).await? == Route::Queue
    {
        return Err(AppError::Forbidden(
            "your first posts wait for a moderator: you can start private threads once one is approved"
                .into(),
        ));
    }
    let created =
        crate::models::private_threads::create(&tx, user, title, body, participants).await?;
    // The invited members are told, in the same transaction.
    notifications::notify_many(
        &tx,
        notifications::Kind::PrivateThread,
        &created.1,
        created.0,
        None,
        Some(user.id),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Invites the members named `names` to private thread `thread_id` as `user` (its owner) and
/// tells each member added, in one transaction; returns their ids.
pub async fn invite_to_private_thread(
    client: &mut Object,
    thread_id: i64,
    user: &User,
    names: &[String],
) -> Result<Vec<i64>, AppError> {
    let tx = client.transaction().await?;
    let invited = crate::models::private_threads::invite(&tx, thread_id, user, names).await?;
    notifications::notify_many(
        &tx,
        notifications::Kind::PrivateThread,
        &invited,
        thread_id,
        None,
        Some(user.id),
    )
    .await?;
    tx.commit().await?;
    Ok(invited)
}

/// What a queued author is told.
pub const QUEUED_NOTICE: &str =
    "Thank you! Your post waits for a moderator's approval and will appear once approved.";
