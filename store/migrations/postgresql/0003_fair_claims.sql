-- Migration 0003 (postgresql): claims are fair between projects and may limit each project's runs in
-- flight. A claim finds the projects with queued runs and reads each one's oldest queued runs
-- (queued runs by project, replacing queued runs by age alone), and counts each one's runs held
-- by a worker.

DROP INDEX ix_runs_queued;
CREATE INDEX ix_runs_queued_project ON runs (project, seq) WHERE status = 'queued';
CREATE INDEX ix_runs_held_project ON runs (project) WHERE worker_id IS NOT NULL;
