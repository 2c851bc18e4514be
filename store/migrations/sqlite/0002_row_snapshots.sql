-- Migration 0002: event rows may log the changed row instead of the API payload (SQLite).
-- Existing events keep their API payloads ('api').

ALTER TABLE run_events ADD COLUMN data_format VARCHAR DEFAULT 'api' NOT NULL;
