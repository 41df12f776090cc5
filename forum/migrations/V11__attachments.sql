-- Attachments: images and files uploaded by members and referred to by posts through a
-- Markdown link to `/attachments/{id}/{filename}`. The bytes live in the attachment storage
-- (a local directory or an S3-compatible bucket) under `storage_key` (and `thumbnail_key` for
-- images); the row says who uploaded what, its sniffed type and size, and which post links it.
-- `post_id` is NULL until a post of the uploader refers to it; the worker removes attachments
-- still unlinked after a while (never linked, or whose post row is gone).
CREATE TABLE attachments (
    id             bigserial PRIMARY KEY,
    user_id        bigint NULL REFERENCES users (id) ON DELETE SET NULL,
    post_id        bigint NULL REFERENCES posts (id) ON DELETE SET NULL,
    filename       text NOT NULL,
    file_type      text NOT NULL,
    content_type   text NOT NULL,
    size_bytes     bigint NOT NULL CHECK (size_bytes >= 0),
    storage_key    text NOT NULL UNIQUE,
    thumbnail_key  text NULL,
    width          integer NULL,
    height         integer NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    linked_at      timestamptz NULL
);
CREATE INDEX attachments_post_idx ON attachments (post_id);
CREATE INDEX attachments_unlinked_idx ON attachments (created_at) WHERE post_id IS NULL;
CREATE INDEX attachments_user_idx ON attachments (user_id);
