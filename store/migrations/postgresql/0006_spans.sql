-- Migration 0006 (postgresql): spans, one row per traced unit of work (a run, a model call, a tool
-- call, a completion), queryable by trace, session, user and time; written in the background.

CREATE TABLE spans (
	seq SERIAL NOT NULL,
	id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	trace_id VARCHAR NOT NULL,
	parent_span_id VARCHAR,
	kind VARCHAR NOT NULL,
	name VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	error TEXT,
	started_at FLOAT NOT NULL,
	ended_at FLOAT,
	time_to_first_token_ms FLOAT,
	requested_model VARCHAR,
	model VARCHAR,
	provider VARCHAR,
	prompt_tokens INTEGER,
	completion_tokens INTEGER,
	cost FLOAT,
	retries INTEGER DEFAULT '0' NOT NULL,
	fallbacks TEXT,
	tags TEXT,
	user_id VARCHAR,
	session_id VARCHAR,
	metadata TEXT,
	group_id VARCHAR,
	run_id VARCHAR,
	thread_id VARCHAR,
	assistant_id VARCHAR,
	input TEXT,
	output TEXT,
	PRIMARY KEY (seq),
	UNIQUE (id)
);
CREATE INDEX ix_spans_project_seq ON spans (project, seq);
CREATE INDEX ix_spans_trace ON spans (trace_id, seq);
CREATE INDEX ix_spans_session ON spans (project, session_id, seq);
CREATE INDEX ix_spans_user ON spans (project, user_id, seq);
CREATE INDEX ix_spans_started ON spans (started_at);
