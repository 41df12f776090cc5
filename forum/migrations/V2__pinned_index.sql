-- Pinned threads are few: a partial index finds them without scanning a category's threads.
CREATE INDEX threads_pinned_idx ON threads (category_id, last_activity_at DESC) WHERE is_pinned;
