//! The background worker (`forum worker`): claims due jobs of the queue in `models::jobs` and
//! runs them, one at a time, counting outcomes in `forum_jobs_total`.
//!
//! If the worker dies mid-job, its transaction aborts and the lock goes with the connection;
//! once the lease ends another worker claims the job again. The attempt was counted when it was
//! claimed, so a job that kills its worker every time (a poison job) ends as `failed` after
//! `max_attempts` claims instead of looping forever. A job that fails without killing the worker
//! is rolled back to a savepoint and retried with exponential backoff until `max_attempts`.

use std::time::Duration;

use deadpool_postgres::Pool;

use crate::error::AppError;
use crate::metrics::Metrics;
use crate::models::jobs::{self, Claim, Claimed, JobKind};

/// What one [`run_once`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ran {
    /// No job was due.
    Idle,
    /// The job succeeded.
    Done(i64),
    /// The job failed and will run again.
    Retry(i64),
    /// The job failed for the last time.
    Failed(i64),
}

/// Claims and runs one due job.
pub async fn run_once(pool: &Pool, metrics: Option<&Metrics>) -> Result<Ran, AppError> {
    let mut client = pool.get().await?;
    let job = match jobs::claim(&mut client).await? {
        Claim::Idle => return Ok(Ran::Idle),
        Claim::Abandoned { id, kind } => {
            count(metrics, kind_label(&kind), Ran::Failed(id));
            return Ok(Ran::Failed(id));
        }
        Claim::Job(job) => job,
    };
    let tx = client.transaction().await?;
    if !jobs::lock_claimed(&tx, &job).await? {
        return Ok(Ran::Idle);
    }
    let Claimed {
        id,
        kind,
        payload,
        attempts,
        max_attempts,
    } = job;
    tx.batch_execute("SAVEPOINT job").await?;
    let result = jobs::run(&tx, &kind, &payload).await;
    let label = kind_label(&kind);
    let ran = match result {
        Ok(()) => {
            jobs::mark_done(&tx, id).await?;
            tracing::info!(job = id, kind = %kind, "job done");
            Ran::Done(id)
        }
        Err(e) => {
            tx.batch_execute("ROLLBACK TO SAVEPOINT job").await?;
            let last = attempts >= max_attempts;
            let message: String = e.to_string().chars().take(1000).collect();
            jobs::mark_failed(&tx, id, &message, last, jobs::backoff(attempts - 1)).await?;
            tracing::warn!(job = id, kind = %kind, error = %message, last, "job failed");
            if last {
                Ran::Failed(id)
            } else {
                Ran::Retry(id)
            }
        }
    };
    tx.commit().await?;
    count(metrics, label, ran);
    Ok(ran)
}

/// The metrics label of `kind`: a known kind or `unknown`.
fn kind_label(kind: &str) -> &'static str {
    JobKind::parse(kind).map_or("unknown", JobKind::as_str)
}

fn count(metrics: Option<&Metrics>, kind: &'static str, ran: Ran) {
    let Some(m) = metrics else { return };
    let outcome = match ran {
        Ran::Idle => return,
        Ran::Done(_) => "done",
        Ran::Retry(_) => "retry",
        Ran::Failed(_) => "failed",
    };
    m.count_job(kind, outcome);
}

/// Runs jobs until `shutdown` resolves, sleeping `idle` when none is due.
pub async fn run(
    pool: Pool,
    metrics: std::sync::Arc<Metrics>,
    idle: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    // Every kind and outcome from 0: a worker with nothing to do still reports its counters.
    for kind in JobKind::ALL {
        for outcome in ["done", "retry", "failed"] {
            metrics.job_series(kind.as_str(), outcome);
        }
    }
    tokio::pin!(shutdown);
    loop {
        let wait = match run_once(&pool, Some(&metrics)).await {
            Ok(Ran::Idle) => idle,
            Ok(_) => Duration::ZERO,
            Err(e) => {
                tracing::error!(error = %e, "worker cannot reach the job queue");
                idle.max(Duration::from_secs(1))
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_are_labelled_unknown() {
        assert_eq!(kind_label("recount"), "recount");
        assert_eq!(kind_label("no such kind"), "unknown");
    }
}
