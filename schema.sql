-- The canonical schema of the assistants store (SQLite dialect).
-- Generated from store/tables.py; tests/store/test_schema.py proves the two agree.

CREATE TABLE assistants (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	created_at INTEGER NOT NULL,
	name VARCHAR,
	description VARCHAR,
	model VARCHAR NOT NULL,
	instructions TEXT,
	tools TEXT NOT NULL,
	tool_resources TEXT,
	metadata TEXT,
	temperature FLOAT,
	top_p FLOAT,
	response_format TEXT,
	reasoning_effort VARCHAR,
	extensions TEXT,
	PRIMARY KEY (seq),
	UNIQUE (id)
);
CREATE INDEX ix_assistants_project_seq ON assistants (project, seq);

CREATE TABLE messages (
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
CREATE INDEX ix_messages_run_seq ON messages (run_id, seq);
CREATE INDEX ix_messages_thread_seq ON messages (thread_id, seq);

CREATE TABLE prompt_label_moves (
	seq INTEGER NOT NULL,
	prompt_id VARCHAR NOT NULL,
	label VARCHAR NOT NULL,
	from_version INTEGER,
	to_version INTEGER,
	moved_at INTEGER NOT NULL,
	PRIMARY KEY (seq)
);
CREATE INDEX ix_prompt_label_moves_label_seq ON prompt_label_moves (prompt_id, label, seq);

CREATE TABLE prompt_labels (
	prompt_id VARCHAR NOT NULL,
	label VARCHAR NOT NULL,
	version INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (prompt_id, label)
);

CREATE TABLE prompt_versions (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	prompt_id VARCHAR NOT NULL,
	version INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	messages TEXT,
	instructions TEXT,
	model VARCHAR,
	temperature FLOAT,
	top_p FLOAT,
	max_tokens INTEGER,
	stop TEXT,
	response_format TEXT,
	tools TEXT,
	tool_choice TEXT,
	commit_message TEXT,
	PRIMARY KEY (seq),
	UNIQUE (id)
);
CREATE INDEX ix_prompt_versions_prompt_seq ON prompt_versions (prompt_id, seq);
CREATE UNIQUE INDEX ux_prompt_versions_prompt_version ON prompt_versions (prompt_id, version);

CREATE TABLE prompts (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	name VARCHAR NOT NULL,
	description VARCHAR,
	metadata TEXT,
	created_at INTEGER NOT NULL,
	latest_version INTEGER DEFAULT '0' NOT NULL,
	PRIMARY KEY (seq),
	UNIQUE (id)
);
CREATE INDEX ix_prompts_project_seq ON prompts (project, seq);
CREATE UNIQUE INDEX ux_prompts_project_name ON prompts (project, name);

CREATE TABLE run_events (
	run_id VARCHAR NOT NULL,
	seq INTEGER NOT NULL,
	created_at FLOAT NOT NULL,
	event VARCHAR NOT NULL,
	data TEXT NOT NULL,
	data_format VARCHAR DEFAULT 'api' NOT NULL,
	PRIMARY KEY (run_id, seq)
);

CREATE TABLE run_steps (
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
CREATE INDEX ix_run_steps_run_seq ON run_steps (run_id, seq);

CREATE TABLE runs (
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
CREATE INDEX ix_runs_expiring ON runs (expires_at) WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');
CREATE INDEX ix_runs_held_project ON runs (project) WHERE worker_id IS NOT NULL;
CREATE INDEX ix_runs_leased ON runs (lease_expires_at) WHERE worker_id IS NOT NULL;
CREATE INDEX ix_runs_queued_project ON runs (project, seq) WHERE status = 'queued';
CREATE INDEX ix_runs_thread_seq ON runs (thread_id, seq);
CREATE UNIQUE INDEX ux_runs_one_active_per_thread ON runs (thread_id) WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');

CREATE TABLE schema_version (
	version INTEGER NOT NULL,
	applied_at INTEGER NOT NULL,
	PRIMARY KEY (version)
);

CREATE TABLE spans (
	seq INTEGER NOT NULL,
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

CREATE TABLE threads (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	created_at INTEGER NOT NULL,
	tool_resources TEXT,
	metadata TEXT,
	version INTEGER DEFAULT '0' NOT NULL,
	extensions TEXT,
	PRIMARY KEY (seq),
	UNIQUE (id)
);
CREATE INDEX ix_threads_project_seq ON threads (project, seq);

CREATE TABLE workers (
	id VARCHAR NOT NULL,
	host VARCHAR NOT NULL,
	pid INTEGER NOT NULL,
	started VARCHAR NOT NULL,
	registered_at INTEGER NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_workers_host ON workers (host);
CREATE TABLE files (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	created_at INTEGER NOT NULL,
	bytes INTEGER NOT NULL,
	filename VARCHAR NOT NULL,
	purpose VARCHAR NOT NULL,
	expires_at INTEGER,
	sha256 VARCHAR NOT NULL,
	storage VARCHAR NOT NULL,
	PRIMARY KEY (seq),
	UNIQUE (id)
);
CREATE INDEX ix_files_project_seq ON files (project, seq);

CREATE TABLE file_parts (
	file_id VARCHAR NOT NULL,
	part INTEGER NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (file_id, part)
);

CREATE TABLE vector_stores (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	created_at INTEGER NOT NULL,
	name VARCHAR,
	expires_after TEXT,
	expires_at INTEGER,
	last_active_at INTEGER,
	metadata TEXT,
	PRIMARY KEY (seq),
	UNIQUE (id)
);
CREATE INDEX ix_vector_stores_project_seq ON vector_stores (project, seq);

CREATE TABLE vector_store_files (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	vector_store_id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	created_at INTEGER NOT NULL,
	status VARCHAR NOT NULL,
	usage_bytes INTEGER DEFAULT '0' NOT NULL,
	last_error TEXT,
	chunking_strategy TEXT NOT NULL,
	attributes TEXT,
	batch_id VARCHAR,
	lease_expires_at FLOAT,
	attempts INTEGER DEFAULT '0' NOT NULL,
	PRIMARY KEY (seq)
);
CREATE INDEX ix_vector_store_files_batch ON vector_store_files (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX ix_vector_store_files_file ON vector_store_files (id);
CREATE INDEX ix_vector_store_files_pending ON vector_store_files (lease_expires_at) WHERE status = 'in_progress';
CREATE INDEX ix_vector_store_files_store_seq ON vector_store_files (vector_store_id, seq);
CREATE UNIQUE INDEX ux_vector_store_files ON vector_store_files (vector_store_id, id);

CREATE TABLE vector_store_file_batches (
	seq INTEGER NOT NULL,
	id VARCHAR NOT NULL,
	vector_store_id VARCHAR NOT NULL,
	project VARCHAR NOT NULL,
	created_at INTEGER NOT NULL,
	cancelled INTEGER DEFAULT '0' NOT NULL,
	PRIMARY KEY (seq),
	UNIQUE (id)
);
CREATE INDEX ix_file_batches_store_seq ON vector_store_file_batches (vector_store_id, seq);

CREATE TABLE chunks (
	seq INTEGER NOT NULL,
	vector_store_id VARCHAR NOT NULL,
	file_id VARCHAR NOT NULL,
	position INTEGER NOT NULL,
	text TEXT NOT NULL,
	tokens INTEGER NOT NULL,
	embedding BLOB,
	embedding_model VARCHAR,
	embedding_dims INTEGER,
	PRIMARY KEY (seq)
);
CREATE INDEX ix_chunks_store_file ON chunks (vector_store_id, file_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='seq');
