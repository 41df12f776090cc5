//! The counter of thread and post reorganisations: `forum_moderation_actions_total{action}`,
//! one of the fixed [`ModerationAction`] values (merges, moves and splits by moderators; polls
//! and best answers managed by moderators or the thread's starter). Every value starts at 0.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// The label of the counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// What was done.
    pub action: &'static str,
}

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModerationAction {
    /// A thread merged into another.
    MergeThreads,
    /// Posts moved to another thread.
    MovePosts,
    /// Posts split into a new thread.
    SplitPosts,
    /// A poll added after its thread started.
    PollAdd,
    /// A poll edited.
    PollEdit,
    /// A poll closed.
    PollClose,
    /// A poll reopened.
    PollReopen,
    /// A poll deleted.
    PollDelete,
    /// A best answer unmarked.
    BestAnswerUnmark,
}

impl ModerationAction {
    /// Every action.
    pub const ALL: [ModerationAction; 9] = [
        ModerationAction::MergeThreads,
        ModerationAction::MovePosts,
        ModerationAction::SplitPosts,
        ModerationAction::PollAdd,
        ModerationAction::PollEdit,
        ModerationAction::PollClose,
        ModerationAction::PollReopen,
        ModerationAction::PollDelete,
        ModerationAction::BestAnswerUnmark,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ModerationAction::MergeThreads => "merge_threads",
            ModerationAction::MovePosts => "move_posts",
            ModerationAction::SplitPosts => "split_posts",
            ModerationAction::PollAdd => "poll_add",
            ModerationAction::PollEdit => "poll_edit",
            ModerationAction::PollClose => "poll_close",
            ModerationAction::PollReopen => "poll_reopen",
            ModerationAction::PollDelete => "poll_delete",
            ModerationAction::BestAnswerUnmark => "best_answer_unmark",
        }
    }
}

/// The counter, registered once per process.
#[derive(Clone, Debug)]
pub struct ModerationMetrics {
    actions: Family<ActionLabels, Counter>,
}

impl ModerationMetrics {
    /// Registers `forum_moderation_actions_total` in `registry`, every action at 0.
    pub fn register(registry: &mut Registry) -> ModerationMetrics {
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "forum_moderation_actions",
            "Threads merged, posts moved or split, polls and best answers managed, by action",
            actions.clone(),
        );
        for a in ModerationAction::ALL {
            actions
                .get_or_create(&ActionLabels { action: a.as_str() })
                .inc_by(0);
        }
        ModerationMetrics { actions }
    }

    /// Counts one `action` (after its transaction committed).
    pub fn count(&self, action: ModerationAction) {
        self.actions
            .get_or_create(&ActionLabels {
                action: action.as_str(),
            })
            .inc();
    }
}
