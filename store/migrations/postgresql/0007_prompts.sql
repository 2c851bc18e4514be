-- Migration 0007 (postgresql): prompts. A prompt is a template named per project; its versions are
-- immutable and numbered 1, 2, 3... (`prompts.latest_version` is bumped in the transaction that
-- adds one); a release label points at one version and moves by compare-and-set, each set, move
-- or delete recorded in `prompt_label_moves`.

CREATE TABLE prompt_label_moves (
	seq SERIAL NOT NULL,
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
	seq SERIAL NOT NULL,
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
	seq SERIAL NOT NULL,
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
