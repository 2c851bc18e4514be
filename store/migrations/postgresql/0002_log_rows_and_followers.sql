-- Migration 0002 (postgresql): events may log the changed row instead of the API payload (existing
-- events keep their payloads, 'api'); runs count the processes following their event log.

ALTER TABLE run_events ADD COLUMN data_format VARCHAR DEFAULT 'api' NOT NULL;
ALTER TABLE runs ADD COLUMN followers INTEGER DEFAULT '0' NOT NULL;
