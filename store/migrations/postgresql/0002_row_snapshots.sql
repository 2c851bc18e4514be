-- Migration 0002: event rows may log the changed row instead of the API payload (Postgres).
-- Existing events keep their API payloads ('api'); with a constant default no rewrite happens.

ALTER TABLE run_events ADD COLUMN data_format VARCHAR DEFAULT 'api' NOT NULL;
