-- Every process of the forum keeps an in-memory cache of the read models its pages need (see
-- src/cache/). Any committed change to what those pages show notifies channel `forum_cache`,
-- whichever process or tool made it (web, api, worker, admin CLI, psql), so every process drops
-- its cache at once. Statement-level triggers: one notification per statement, and PostgreSQL
-- folds identical notifications of one transaction into one, delivered at commit.
CREATE FUNCTION forum_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('forum_cache', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER categories_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON categories
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER threads_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON threads
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER posts_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON posts
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER post_likes_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_likes
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER polls_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON polls
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER poll_choices_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON poll_choices
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER poll_votes_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON poll_votes
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
-- Of users, pages show only names and avatars: `last_seen_at`, refreshed on requests of
-- logged-in users, must not empty the caches.
CREATE TRIGGER users_cache_notify AFTER UPDATE OF username, avatar ON users
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER users_delete_cache_notify AFTER DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
