-- E-mail and account recovery (see src/mail/ and src/models/tokens.rs).

-- Mails to send. A mail is written in the same transaction as what causes it (a registration,
-- a reset request), so it exists exactly when its cause committed; the worker sends it and
-- retries with backoff while the SMTP server is unreachable. Once a mail is sent or has failed
-- for good its bodies, which hold single-use links, are erased: only the metadata stays.
CREATE TABLE mails (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    recipient    text NOT NULL,
    subject      text NOT NULL,
    body_text    text NOT NULL,
    body_html    text NOT NULL,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz NULL,
    last_error   text NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz NULL
);
CREATE INDEX mails_due_idx ON mails (run_at, id) WHERE status = 'queued';

-- Single-use tokens sent by e-mail: account activation, password reset, e-mail change (to the
-- new address, kept in `new_email` until confirmed). Only their SHA-256 is stored.
CREATE TABLE account_tokens (
    token_hash  text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('activation', 'password_reset', 'email_change')),
    new_email   text NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz NULL
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);

-- What an inactive account waits for: its owner's activation link, or an administrator.
ALTER TABLE users ADD COLUMN awaiting text NULL CHECK (awaiting IN ('email', 'admin'));

-- Settings an administrator changes in the admin panel (e.g. `registration`); a missing key
-- takes the command line's value.
CREATE TABLE site_settings (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
