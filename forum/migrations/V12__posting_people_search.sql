-- Polls managed after a thread starts, threads merged into others, the member list and who is
-- online, and search filtered by author and date.

-- A poll its thread's starter or a moderator closed: no more votes until it is reopened.
ALTER TABLE polls ADD COLUMN is_closed boolean NOT NULL DEFAULT false;

-- A thread merged into another: its old address leads to the thread that took its posts.
-- Chains are kept flat (merging A, which took B, into C points B at C too).
CREATE TABLE thread_redirects (
    old_thread_id  bigint PRIMARY KEY,
    thread_id      bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX thread_redirects_thread_idx ON thread_redirects (thread_id);

-- The member list searches by name prefix (case-insensitive) in name order.
CREATE INDEX users_username_prefix_idx ON users (lower(username) text_pattern_ops);
-- Who is online: members seen in the last minutes.
CREATE INDEX users_last_seen_idx ON users (last_seen_at DESC) WHERE last_seen_at IS NOT NULL;
