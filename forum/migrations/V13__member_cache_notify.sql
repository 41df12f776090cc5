-- The read cache (src/cache/) also keeps the sessions of logged-in members: the user of each
-- session with their role, custom roles and ban, the unread count of their bell and their
-- "everything before this is read" mark, so a member's page needs no query of its own. What
-- changes those notifies `forum_cache` too (see V4; roles are covered by V10).
--
-- Row-level triggers here: the worker's sweep of expired sessions and a notification fan-out
-- to nobody are statements that often change no row, and must not empty the caches. PostgreSQL
-- folds the identical notifications of one transaction into one, so a statement that changes
-- many rows still notifies once.
CREATE TRIGGER sessions_cache_notify AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER sessions_truncate_cache_notify AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER notifications_cache_notify AFTER INSERT OR DELETE OR UPDATE OF read_at ON notifications
    FOR EACH ROW EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER notifications_truncate_cache_notify AFTER TRUNCATE ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
-- Not `last_seen_at`, which the requests of logged-in members refresh.
CREATE TRIGGER users_session_cache_notify
    AFTER UPDATE OF role, banned_until, is_active, read_all_before ON users
    FOR EACH ROW EXECUTE FUNCTION forum_cache_notify();

-- A member's read marks (a thread page read, a category marked read) change only what their
-- own lists show: they notify channel `forum_reads` with the member's id, and each process
-- forgets only that member's cached marks (src/cache/marks.rs).
CREATE FUNCTION forum_reads_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('forum_reads', OLD.user_id::text);
    ELSE
        PERFORM pg_notify('forum_reads', NEW.user_id::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER thread_reads_notify AFTER INSERT OR UPDATE OR DELETE ON thread_reads
    FOR EACH ROW EXECUTE FUNCTION forum_reads_notify();
CREATE TRIGGER category_reads_notify AFTER INSERT OR UPDATE OR DELETE ON category_reads
    FOR EACH ROW EXECUTE FUNCTION forum_reads_notify();
CREATE TRIGGER thread_reads_truncate_cache_notify AFTER TRUNCATE ON thread_reads
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
CREATE TRIGGER category_reads_truncate_cache_notify AFTER TRUNCATE ON category_reads
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
-- Whether a member watches a thread is theirs alone too (the thread page keeps it with their
-- visit: src/cache/visits.rs).
CREATE TRIGGER thread_watchers_notify AFTER INSERT OR UPDATE OR DELETE ON thread_watchers
    FOR EACH ROW EXECUTE FUNCTION forum_reads_notify();
CREATE TRIGGER thread_watchers_truncate_cache_notify AFTER TRUNCATE ON thread_watchers
    FOR EACH STATEMENT EXECUTE FUNCTION forum_cache_notify();
