-- A moderator who redacts a post can hide its edit history (the old texts) from everyone but
-- moderators.
ALTER TABLE posts ADD COLUMN history_hidden boolean NOT NULL DEFAULT false;
