-- Migration 0004 (postgresql): run, run step and message statuses are checked by the database
-- (CHECK constraints built from store/statuses.py).

ALTER TABLE messages ADD CONSTRAINT ck_messages_status CHECK (status IN ('in_progress', 'incomplete', 'completed'));
ALTER TABLE run_steps ADD CONSTRAINT ck_run_steps_status CHECK (status IN ('in_progress', 'cancelled', 'failed', 'completed', 'expired'));
ALTER TABLE runs ADD CONSTRAINT ck_runs_status CHECK (status IN ('queued', 'in_progress', 'requires_action', 'cancelling', 'cancelled', 'failed', 'completed', 'incomplete', 'expired'));
