-- Names that cannot imitate one another: the confusable skeleton (Unicode TS #39) of each
-- username, unique. Filled by the forum for accounts made before (`names::fill_missing_skeletons`).
ALTER TABLE users ADD COLUMN name_skeleton text NULL;
CREATE UNIQUE INDEX users_name_skeleton_key ON users (name_skeleton);

-- Registrations per client address, for their rate limit (rows older than a day are purged).
CREATE TABLE registrations_by_address (
    id       bigserial PRIMARY KEY,
    address  text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registrations_by_address_idx ON registrations_by_address (address, at);

-- Bans of an e-mail pattern (`*@spam.example`, `*` matching any run of characters) or of an
-- address range (`cidr`), until `expires_at` (NULL: for good), with a message shown to those
-- it bans.
CREATE TABLE bans (
    id             bigserial PRIMARY KEY,
    email_pattern  text NULL,
    address_range  cidr NULL,
    message        text NOT NULL DEFAULT '',
    expires_at     timestamptz NULL,
    created_by     bigint NULL REFERENCES users (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((email_pattern IS NULL) <> (address_range IS NULL))
);

-- Posts and threads of new members waiting for a moderator: nothing is written to `posts` or
-- `threads` until one approves. A reply names its thread; a new thread, its category and title.
CREATE TABLE moderation_queue (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id    bigint NULL REFERENCES threads (id) ON DELETE CASCADE,
    category_id  bigint NULL REFERENCES categories (id) ON DELETE CASCADE,
    title        text NULL,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((thread_id IS NULL) <> (category_id IS NULL AND title IS NULL))
);
CREATE INDEX moderation_queue_user_idx ON moderation_queue (user_id);
