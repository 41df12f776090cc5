-- Permissions per category and private threads.
--
-- Roles: the built-in `guest` (visitors who are not logged in), `member` and `moderator`, and
-- roles an administrator creates and assigns to members (`user_roles`). Administrators are not
-- a row: they may do everything. What a user may do in a category is the union of what each of
-- their roles may do there (a moderator holds `member` and `moderator`, a member `member`, and
-- both may hold custom roles too).
CREATE TABLE roles (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    is_builtin  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX roles_name_key ON roles (lower(name));
INSERT INTO roles (name, is_builtin) VALUES ('guest', true), ('member', true), ('moderator', true);

CREATE TABLE user_roles (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id  bigint NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_idx ON user_roles (role_id);

-- What a role may do in a category, when set; a category without a row for a role inherits
-- its parent's (and a top-level one the role's defaults: see src/models/permissions.rs).
CREATE TABLE category_permissions (
    category_id   bigint NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    role_id       bigint NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    can_see       boolean NOT NULL,
    can_read      boolean NOT NULL,
    can_start     boolean NOT NULL,
    can_reply     boolean NOT NULL,
    can_moderate  boolean NOT NULL,
    PRIMARY KEY (category_id, role_id)
);
CREATE INDEX category_permissions_role_idx ON category_permissions (role_id);

-- Private threads live in a category of their own, outside the tree (id 0, so the ids of the
-- forum's categories are unchanged): no role may see it; a private thread is shown to its
-- participants only.
ALTER TABLE categories ADD COLUMN is_private boolean NOT NULL DEFAULT false;
INSERT INTO categories (id, name, description, is_private, position)
VALUES (0, 'Private threads', 'Threads between invited members', true, 0);
CREATE UNIQUE INDEX categories_one_private ON categories (is_private) WHERE is_private;

CREATE TABLE private_thread_participants (
    thread_id  bigint NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_owner   boolean NOT NULL DEFAULT false,
    joined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX private_thread_participants_user_idx ON private_thread_participants (user_id, thread_id);

-- The read caches hold each role's view of the categories: a change of permissions or roles
-- empties them (see V4).
CREATE TRIGGER roles_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER user_roles_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_roles
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER category_permissions_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON category_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER private_thread_participants_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON private_thread_participants
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
