-- Migration 0009 (postgresql): a thread keeps extension fields (its trace fields: tags, user_id,
-- session_id), which the runs on it inherit unless they set their own.

ALTER TABLE threads ADD COLUMN extensions TEXT;
