-- Migration 0004 (sqlite): run, run step and message statuses are checked by the database
-- (CHECK constraints built from store/statuses.py). SQLite adds a constraint only by rebuilding
-- the table: each is created anew with its constraint, its rows copied (seq kept), the old one
-- dropped, and its indexes created again.

CREATE TABLE messages_checked (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	thread_id VARCHAR NOT NULL,
	created_at INTEGER NOT NULL,
	status VARCHAR NOT NULL,
	incomplete_details TEXT,
	completed_at INTEGER,
	incomplete_at INTEGER,
	role VARCHAR NOT NULL,
	content TEXT NOT NULL,
	assistant_id VARCHAR,
	run_id VARCHAR,
	attachments TEXT,
	metadata TEXT,
	PRIMARY KEY (seq),
	CONSTRAINT ck_messages_status CHECK (status IN ('in_progress', 'incomplete', 'completed')),
	UNIQUE (id)
);
INSERT INTO messages_checked (seq, id, project, thread_id, created_at, status, incomplete_details, completed_at, incomplete_at, role, content, assistant_id, run_id, attachments, metadata)
SELECT seq, id, project, thread_id, created_at, status, incomplete_details, completed_at, incomplete_at, role, content, assistant_id, run_id, attachments, metadata FROM messages;
DROP TABLE messages;
ALTER TABLE messages_checked RENAME TO messages;
CREATE INDEX ix_messages_run_seq ON messages (run_id, seq);
CREATE INDEX ix_messages_thread_seq ON messages (thread_id, seq);

CREATE TABLE run_steps_checked (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	run_id VARCHAR NOT NULL,
	thread_id VARCHAR NOT NULL,
	assistant_id VARCHAR NOT NULL,
	created_at INTEGER NOT NULL,
	type VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	step_details TEXT NOT NULL,
	last_error TEXT,
	expired_at INTEGER,
	cancelled_at INTEGER,
	failed_at INTEGER,
	completed_at INTEGER,
	metadata TEXT,
	usage TEXT,
	extensions TEXT,
	PRIMARY KEY (seq),
	CONSTRAINT ck_run_steps_status CHECK (status IN ('in_progress', 'cancelled', 'failed', 'completed', 'expired')),
	UNIQUE (id)
);
INSERT INTO run_steps_checked (seq, id, project, run_id, thread_id, assistant_id, created_at, type, status, step_details, last_error, expired_at, cancelled_at, failed_at, completed_at, metadata, usage, extensions)
SELECT seq, id, project, run_id, thread_id, assistant_id, created_at, type, status, step_details, last_error, expired_at, cancelled_at, failed_at, completed_at, metadata, usage, extensions FROM run_steps;
DROP TABLE run_steps;
ALTER TABLE run_steps_checked RENAME TO run_steps;
CREATE INDEX ix_run_steps_run_seq ON run_steps (run_id, seq);

CREATE TABLE runs_checked (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	thread_id VARCHAR NOT NULL,
	assistant_id VARCHAR NOT NULL,
	created_at INTEGER NOT NULL,
	status VARCHAR NOT NULL,
	required_action TEXT,
	last_error TEXT,
	expires_at INTEGER,
	started_at INTEGER,
	cancelled_at INTEGER,
	failed_at INTEGER,
	completed_at INTEGER,
	incomplete_details TEXT,
	model VARCHAR NOT NULL,
	instructions TEXT NOT NULL,
	tools TEXT NOT NULL,
	metadata TEXT,
	usage TEXT,
	temperature FLOAT,
	top_p FLOAT,
	max_prompt_tokens INTEGER,
	max_completion_tokens INTEGER,
	truncation_strategy TEXT,
	tool_choice TEXT,
	parallel_tool_calls INTEGER NOT NULL,
	response_format TEXT,
	reasoning_effort VARCHAR,
	extensions TEXT,
	worker_id VARCHAR,
	lease_expires_at FLOAT,
	attempts INTEGER DEFAULT '0' NOT NULL,
	cancel_requested INTEGER DEFAULT '0' NOT NULL,
	event_seq INTEGER DEFAULT '0' NOT NULL,
	followers INTEGER DEFAULT '0' NOT NULL,
	PRIMARY KEY (seq),
	CONSTRAINT ck_runs_status CHECK (status IN ('queued', 'in_progress', 'requires_action', 'cancelling', 'cancelled', 'failed', 'completed', 'incomplete', 'expired')),
	UNIQUE (id)
);
INSERT INTO runs_checked (seq, id, project, thread_id, assistant_id, created_at, status, required_action, last_error, expires_at, started_at, cancelled_at, failed_at, completed_at, incomplete_details, model, instructions, tools, metadata, usage, temperature, top_p, max_prompt_tokens, max_completion_tokens, truncation_strategy, tool_choice, parallel_tool_calls, response_format, reasoning_effort, extensions, worker_id, lease_expires_at, attempts, cancel_requested, event_seq, followers)
SELECT seq, id, project, thread_id, assistant_id, created_at, status, required_action, last_error, expires_at, started_at, cancelled_at, failed_at, completed_at, incomplete_details, model, instructions, tools, metadata, usage, temperature, top_p, max_prompt_tokens, max_completion_tokens, truncation_strategy, tool_choice, parallel_tool_calls, response_format, reasoning_effort, extensions, worker_id, lease_expires_at, attempts, cancel_requested, event_seq, followers FROM runs;
DROP TABLE runs;
ALTER TABLE runs_checked RENAME TO runs;
CREATE INDEX ix_runs_expiring ON runs (expires_at) WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');
CREATE INDEX ix_runs_held_project ON runs (project) WHERE worker_id IS NOT NULL;
CREATE INDEX ix_runs_leased ON runs (lease_expires_at) WHERE worker_id IS NOT NULL;
CREATE INDEX ix_runs_queued_project ON runs (project, seq) WHERE status = 'queued';
CREATE INDEX ix_runs_thread_seq ON runs (thread_id, seq);
CREATE UNIQUE INDEX ux_runs_one_active_per_thread ON runs (thread_id) WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');
