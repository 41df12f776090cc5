-- The forum's schema. Tables and columns named in docs/contracts.md are relied on by
-- pg-exporter's `forum` preset: never rename them.

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL,
    email          text NOT NULL,
    password_hash  text NOT NULL,
    role           text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'moderator', 'admin')),
    is_active      boolean NOT NULL DEFAULT true,
    banned_until   timestamptz NULL,
    ban_reason     text NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NULL,
    thread_count   integer NOT NULL DEFAULT 0,
    post_count     integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE sessions (
    token_hash  text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'admin', 'api')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE login_failures (
    id        bigserial PRIMARY KEY,
    scope     text NOT NULL,
    key       text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_idx ON login_failures (scope, key, at);

CREATE TABLE categories (
    id               bigserial PRIMARY KEY,
    parent_id        bigint NULL REFERENCES categories (id) ON DELETE RESTRICT,
    name             text NOT NULL,
    description      text NOT NULL DEFAULT '',
    position         integer NOT NULL DEFAULT 0,
    is_question      boolean NOT NULL DEFAULT false,
    thread_count     integer NOT NULL DEFAULT 0,
    post_count       integer NOT NULL DEFAULT 0,
    last_activity_at timestamptz NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX categories_parent_idx ON categories (parent_id);

CREATE TABLE threads (
    id                  bigserial PRIMARY KEY,
    category_id         bigint NOT NULL REFERENCES categories (id),
    user_id             bigint NULL REFERENCES users (id) ON DELETE SET NULL,
    title               text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_activity_at    timestamptz NOT NULL DEFAULT now(),
    last_poster_id      bigint NULL REFERENCES users (id) ON DELETE SET NULL,
    post_count          integer NOT NULL DEFAULT 0,
    is_pinned           boolean NOT NULL DEFAULT false,
    is_closed           boolean NOT NULL DEFAULT false,
    is_hidden           boolean NOT NULL DEFAULT false,
    best_answer_post_id bigint NULL,
    search              tsvector GENERATED ALWAYS AS (to_tsvector('english', title)) STORED
);
CREATE INDEX threads_activity_idx ON threads (last_activity_at DESC, id DESC) WHERE NOT is_hidden;
CREATE INDEX threads_category_activity_idx ON threads (category_id, last_activity_at DESC, id DESC);
CREATE INDEX threads_user_idx ON threads (user_id);
CREATE INDEX threads_search_idx ON threads USING gin (search);

CREATE TABLE posts (
    id          bigserial PRIMARY KEY,
    thread_id   bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    user_id     bigint NULL REFERENCES users (id) ON DELETE SET NULL,
    body        text NOT NULL,
    body_html   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    edited_at   timestamptz NULL,
    is_deleted  boolean NOT NULL DEFAULT false,
    like_count  integer NOT NULL DEFAULT 0,
    search      tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED
);
CREATE INDEX posts_thread_idx ON posts (thread_id, id);
CREATE INDEX posts_user_idx ON posts (user_id, id DESC);
CREATE INDEX posts_search_idx ON posts USING gin (search);

ALTER TABLE threads ADD CONSTRAINT threads_best_answer_fk
    FOREIGN KEY (best_answer_post_id) REFERENCES posts (id) ON DELETE SET NULL;

CREATE TABLE post_edits (
    id         bigserial PRIMARY KEY,
    post_id    bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    bigint NULL REFERENCES users (id) ON DELETE SET NULL,
    old_body   text NOT NULL,
    edited_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX post_edits_post_idx ON post_edits (post_id);

CREATE TABLE post_likes (
    post_id    bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, user_id)
);

CREATE TABLE polls (
    id            bigserial PRIMARY KEY,
    thread_id     bigint NOT NULL UNIQUE REFERENCES threads (id) ON DELETE CASCADE,
    question      text NOT NULL,
    max_choices   integer NOT NULL DEFAULT 1 CHECK (max_choices >= 1),
    ends_at       timestamptz NULL,
    allow_revote  boolean NOT NULL DEFAULT false,
    is_public     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE poll_choices (
    id        bigserial PRIMARY KEY,
    poll_id   bigint NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    position  integer NOT NULL,
    label     text NOT NULL
);
CREATE INDEX poll_choices_poll_idx ON poll_choices (poll_id, position);

CREATE TABLE poll_votes (
    id         bigserial PRIMARY KEY,
    poll_id    bigint NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    choice_id  bigint NOT NULL REFERENCES poll_choices (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (choice_id, user_id)
);
CREATE INDEX poll_votes_poll_user_idx ON poll_votes (poll_id, user_id);

CREATE TABLE thread_watchers (
    thread_id  bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (thread_id, user_id)
);

-- Notifications for thread watchers, written by the worker; a mailer would drain it.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz NULL
);
CREATE INDEX outbox_unsent_idx ON outbox (id) WHERE sent_at IS NULL;

-- The background job queue (see src/worker.rs).
CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'done', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5,
    run_at       timestamptz NOT NULL DEFAULT now(),
    last_error   text NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz NULL
);
CREATE INDEX jobs_ready_idx ON jobs (run_at, id) WHERE status = 'queued';
