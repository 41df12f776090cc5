//! Polls: 2-20 choices, how many choices per vote, optional end, revote, public or secret.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::error::AppError;

/// A poll to create with a thread, validated by [`NewPoll::parse`].
#[derive(Clone, Debug)]
pub struct NewPoll {
    /// The question.
    pub question: String,
    /// The choices (2-20).
    pub choices: Vec<String>,
    /// How many choices a vote may pick.
    pub max_choices: i32,
    /// When voting ends.
    pub ends_at: Option<DateTime<Utc>>,
    /// Whether a voter may change their vote.
    pub allow_revote: bool,
    /// Whether everyone sees who voted for what.
    pub is_public: bool,
}

impl NewPoll {
    /// Validates a poll; `choices_text` has one choice per line; `hours` is the length (0 = no end).
    pub fn parse(
        question: &str,
        choices_text: &str,
        max_choices: i32,
        hours: i64,
        allow_revote: bool,
        is_public: bool,
    ) -> Result<NewPoll, AppError> {
        let question = super::text::text_field("the poll question", question, 3, 255)?;
        let choices: Vec<String> = choices_text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| l.chars().take(255).collect())
            .collect();
        if !(2..=20).contains(&choices.len()) {
            return Err(AppError::invalid(
                "a poll needs 2 to 20 choices, one per line",
            ));
        }
        if max_choices < 1 || max_choices as usize > choices.len() {
            return Err(AppError::invalid(
                "choices per vote must be between 1 and the number of choices",
            ));
        }
        if !(0..=24 * 365).contains(&hours) {
            return Err(AppError::invalid(
                "the poll length must be between 0 and 8760 hours",
            ));
        }
        let ends_at = (hours > 0).then(|| Utc::now() + chrono::Duration::hours(hours));
        Ok(NewPoll {
            question,
            choices,
            max_choices,
            ends_at,
            allow_revote,
            is_public,
        })
    }
}

/// Creates the poll of `thread_id`.
pub async fn create(
    tx: &impl GenericClient,
    thread_id: i64,
    poll: &NewPoll,
) -> Result<i64, AppError> {
    let row = tx
        .query_one(
            "INSERT INTO polls (thread_id, question, max_choices, ends_at, allow_revote, is_public)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &thread_id,
                &poll.question,
                &poll.max_choices,
                &poll.ends_at,
                &poll.allow_revote,
                &poll.is_public,
            ],
        )
        .await?;
    let id: i64 = row.get(0);
    for (i, label) in poll.choices.iter().enumerate() {
        tx.execute(
            "INSERT INTO poll_choices (poll_id, position, label) VALUES ($1, $2, $3)",
            &[&id, &(i as i32), label],
        )
        .await?;
    }
    Ok(id)
}

/// One choice with its results.
#[derive(Clone, Debug, Serialize)]
pub struct Choice {
    /// Its id.
    pub id: i64,
    /// Its text.
    pub label: String,
    /// Votes for it.
    pub votes: i64,
    /// Who voted for it (public polls only).
    pub voters: Vec<String>,
    /// Whether the viewer picked it.
    pub mine: bool,
    /// Share of votes in percent (for the bar).
    pub percent: i64,
}

/// A poll with its results, as the viewer sees it.
#[derive(Clone, Debug, Serialize)]
pub struct Poll {
    /// Its id.
    pub id: i64,
    /// The question.
    pub question: String,
    /// Choices per vote.
    pub max_choices: i32,
    /// End of voting.
    pub ends_at: Option<DateTime<Utc>>,
    /// Revote allowed.
    pub allow_revote: bool,
    /// Public votes.
    pub is_public: bool,
    /// Choices and results.
    pub choices: Vec<Choice>,
    /// Distinct voters.
    pub voters: i64,
    /// Whether the viewer voted.
    pub voted: bool,
    /// Whether voting has ended (its end passed, or it is closed).
    pub ended: bool,
    /// Closed by its thread's starter or a moderator (reopened, votes resume).
    pub is_closed: bool,
}

impl Poll {
    /// Whether the viewer may vote now.
    pub fn can_vote(&self) -> bool {
        !self.ended && (!self.voted || self.allow_revote)
    }
}

/// The poll of `thread_id`, if any.
pub async fn for_thread(
    client: &impl GenericClient,
    thread_id: i64,
    viewer_id: i64,
) -> Result<Option<Poll>, AppError> {
    let stmt = client
        .prepare_cached(
            "SELECT id, question, max_choices, ends_at, allow_revote, is_public,
                    (is_closed OR (ends_at IS NOT NULL AND ends_at <= now())),
                    (SELECT count(DISTINCT user_id) FROM poll_votes v WHERE v.poll_id = p.id),
                    is_closed
             FROM polls p WHERE thread_id = $1",
        )
        .await?;
    let Some(row) = client.query_opt(&stmt, &[&thread_id]).await? else {
        return Ok(None);
    };
    let id: i64 = row.get(0);
    let is_public: bool = row.get(5);
    let choices_stmt = client
        .prepare_cached(
            "SELECT c.id, c.label, count(v.id),
                    coalesce(array_agg(u.username ORDER BY u.username) FILTER (WHERE u.username IS NOT NULL), '{}'),
                    bool_or(v.user_id = $2)
             FROM poll_choices c LEFT JOIN poll_votes v ON v.choice_id = c.id LEFT JOIN users u ON u.id = v.user_id
             WHERE c.poll_id = $1 GROUP BY c.id ORDER BY c.position",
        )
        .await?;
    let rows = client.query(&choices_stmt, &[&id, &viewer_id]).await?;
    let total: i64 = rows.iter().map(|r| r.get::<_, i64>(2)).sum();
    let choices: Vec<Choice> = rows
        .iter()
        .map(|r| {
            let votes: i64 = r.get(2);
            Choice {
                id: r.get(0),
                label: r.get(1),
                votes,
                voters: if is_public { r.get(3) } else { Vec::new() },
                mine: r.get::<_, Option<bool>>(4).unwrap_or(false),
                percent: if total > 0 { votes * 100 / total } else { 0 },
            }
        })
        .collect();
    let voted = choices.iter().any(|c| c.mine);
    Ok(Some(Poll {
        id,
        question: row.get(1),
        max_choices: row.get(2),
        ends_at: row.get(3),
        allow_revote: row.get(4),
        is_public,
        ended: row.get(6),
        voters: row.get(7),
        is_closed: row.get(8),
        choices,
        voted,
    }))
}

/// Records the vote of `user_id` for `choice_ids` in the poll of `thread_id`.
pub async fn vote(
    tx: &impl GenericClient,
    thread_id: i64,
    user_id: i64,
    choice_ids: &[i64],
) -> Result<(), AppError> {
    // Lock the poll first: concurrent votes of one user cannot both pass the checks below.
    if tx
        .query_opt(
            "SELECT id FROM polls WHERE thread_id = $1 FOR UPDATE",
            &[&thread_id],
        )
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    let Some(poll) = for_thread(tx, thread_id, user_id).await? else {
        return Err(AppError::NotFound);
    };
    if poll.is_closed {
        return Err(AppError::Conflict("this poll is closed".into()));
    }
    if poll.ended {
        return Err(AppError::Conflict("this poll has ended".into()));
    }
    if poll.voted && !poll.allow_revote {
        return Err(AppError::Conflict(
            "you have already voted and this poll does not allow changing votes".into(),
        ));
    }
    let mut picked: Vec<i64> = choice_ids.to_vec();
    picked.sort_unstable();
    picked.dedup();
    if picked.is_empty() || picked.len() > poll.max_choices as usize {
        return Err(AppError::invalid(format!(
            "pick between 1 and {} choices",
            poll.max_choices
        )));
    }
    if !picked
        .iter()
        .all(|id| poll.choices.iter().any(|c| c.id == *id))
    {
        return Err(AppError::invalid("that choice is not in this poll"));
    }
    tx.execute(
        "DELETE FROM poll_votes WHERE poll_id = $1 AND user_id = $2",
        &[&poll.id, &user_id],
    )
    .await?;
    for choice in picked {
        tx.execute(
            "INSERT INTO poll_votes (poll_id, choice_id, user_id) VALUES ($1, $2, $3)",
            &[&poll.id, &choice, &user_id],
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_needs_two_to_twenty_choices() {
        assert!(NewPoll::parse("Which?", "one", 1, 0, false, false).is_err());
        let many = (0..21)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(NewPoll::parse("Which?", &many, 1, 0, false, false).is_err());
        let ok = NewPoll::parse("Which?", "a\n\n b \nc", 2, 24, true, true).unwrap();
        assert_eq!(ok.choices, vec!["a", "b", "c"]);
        assert!(ok.ends_at.is_some());
    }

    #[test]
    fn choices_per_vote_cannot_exceed_the_choices() {
        assert!(NewPoll::parse("Which?", "a\nb", 3, 0, false, false).is_err());
        assert!(NewPoll::parse("Which?", "a\nb", 0, 0, false, false).is_err());
    }
}
