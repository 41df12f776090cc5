-- Notifications, watching, e-mail preferences and unread tracking (see src/models/notifications.rs,
-- src/models/watching.rs, src/models/reads.rs and src/notify_mail.rs).

-- What happened that a member should know about. Written in the transaction of its cause (a
-- post, a best answer, an invitation), at most once per member, kind, thread and post.
CREATE TABLE notifications (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL
                CHECK (kind IN ('reply', 'mention', 'quote', 'best_answer', 'private_thread')),
    thread_id   bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    post_id     bigint NULL REFERENCES posts (id) ON DELETE CASCADE,
    actor_id    bigint NULL REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz NULL
);
CREATE UNIQUE INDEX notifications_once_idx
    ON notifications (user_id, kind, thread_id, coalesce(post_id, 0));
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
-- The bell: the unread count of a member is an index-only probe of this partial index.
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;

-- A member's preferences: e-mail for notifications (`instant`: one mail each, `digest`: one
-- mail a period, `never`), and whether posting in a thread watches it.
ALTER TABLE users
    ADD COLUMN notify_email text NOT NULL DEFAULT 'instant'
        CHECK (notify_email IN ('instant', 'digest', 'never')),
    ADD COLUMN watch_on_post boolean NOT NULL DEFAULT true,
    -- Everything older than this is read for the member ("mark all read"; a new account
    -- starts with everything before it read).
    ADD COLUMN read_all_before timestamptz NOT NULL DEFAULT now();

ALTER TABLE thread_watchers ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX thread_watchers_user_idx ON thread_watchers (user_id, created_at DESC);

-- The mail side of a notification: a row per notification of a member who wants e-mail, drained
-- by the worker into `mails` (one mail each, or a digest) in one transaction, so a notification
-- is mailed once or not at all. Rows written by earlier versions had no notification behind
-- them and nobody to send them: they are closed.
ALTER TABLE outbox ADD COLUMN notification_id bigint NULL REFERENCES notifications (id) ON DELETE CASCADE;
UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL AND notification_id IS NULL;
CREATE INDEX outbox_user_unsent_idx ON outbox (user_id, created_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_notification_idx ON outbox (notification_id);

-- Read marks: per member and thread, the newest post read (and its time); per member and
-- category, "all read before".
CREATE TABLE thread_reads (
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id          bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    last_read_post_id  bigint NOT NULL,
    read_at            timestamptz NOT NULL,
    PRIMARY KEY (user_id, thread_id)
);
CREATE INDEX thread_reads_thread_idx ON thread_reads (thread_id);

CREATE TABLE category_reads (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category_id  bigint NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    read_before  timestamptz NOT NULL,
    PRIMARY KEY (user_id, category_id)
);
