-- Migration 0002 (sqlite): events may log the changed row instead of the API payload (existing
-- events keep their payloads, 'api'); runs count the processes following their event log; the
-- index of held runs by worker goes (a worker's writes find their run by id: with that index
-- there the planner could pick it instead, and every claim and release had to maintain it).

ALTER TABLE run_events ADD COLUMN data_format VARCHAR DEFAULT 'api' NOT NULL;
ALTER TABLE runs ADD COLUMN followers INTEGER DEFAULT '0' NOT NULL;
DROP INDEX ix_runs_worker;
