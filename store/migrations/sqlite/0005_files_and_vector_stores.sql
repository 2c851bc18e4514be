-- Migration 0005 (sqlite): uploaded files (bytes in a directory beside the database, or in
-- `file_parts` for an in-memory database), vector stores, the files
-- in them with their ingestion queue, file batches, and the searchable chunks (FTS5 over their text).

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
	PRIMARY KEY (seq)
);
CREATE INDEX ix_chunks_store_file ON chunks (vector_store_id, file_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='seq');
