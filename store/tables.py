"""The tables, declared once with SQLModel; `schema.sql` is their canonical DDL.

Conventions, the same in SQLite and Postgres:
- `seq` is an auto-increment integer primary key: insertion order, which is `created_at` order,
  so lists page on `(scope, seq)` through an index and never tie on equal timestamps.
- `id` is the public id with OpenAI's prefix, unique.
- `project` scopes every object to one API key's project; the embedded client uses "default".
- JSON payloads (tools, metadata, content, ...) are TEXT holding JSON: one representation for
  both dialects, encoded and decoded in `store/rows.py` only.
- Times the API shows are integer Unix seconds; lease times are fractional seconds taken from the
  database clock, so workers on machines with skewed clocks agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, REAL
from sqlmodel import Field, SQLModel

from store.statuses import ACTIVE_SQL, MessageStatus, RunStatus, StepStatus, check_sql, sql_is

_ACTIVE_SQL = f"status IN {ACTIVE_SQL}"
_QUEUED_SQL = f"status = {sql_is(RunStatus.QUEUED)}"

metadata = MetaData()


class Base(SQLModel):
    """Tables of this package, kept in their own MetaData."""

    metadata = metadata


class SchemaVersion(Base, table=True):
    __tablename__ = "schema_version"
    version: int = Field(primary_key=True)
    applied_at: int


class AssistantRow(Base, table=True):
    __tablename__ = "assistants"
    __table_args__ = (Index("ix_assistants_project_seq", "project", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    project: str
    created_at: int
    name: str | None = None
    description: str | None = None
    model: str
    instructions: str | None = Field(default=None, sa_column=Column(Text))
    tools: str = Field(sa_column=Column(Text, nullable=False))
    tool_resources: str | None = Field(default=None, sa_column=Column(Text))
    metadata_: str | None = Field(default=None, sa_column=Column("metadata", Text))
    temperature: float | None = None
    top_p: float | None = None
    response_format: str | None = Field(default=None, sa_column=Column(Text))
    reasoning_effort: str | None = None
    extensions: str | None = Field(default=None, sa_column=Column(Text))


class ThreadRow(Base, table=True):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_project_seq", "project", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    project: str
    created_at: int
    tool_resources: str | None = Field(default=None, sa_column=Column(Text))
    metadata_: str | None = Field(default=None, sa_column=Column("metadata", Text))
    # Bumped by every message and run creation: a row lock that serialises them per thread.
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Extension fields: the thread's trace fields, which its runs inherit.
    extensions: str | None = Field(default=None, sa_column=Column(Text))


class MessageRow(Base, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_thread_seq", "thread_id", "seq"),
        Index("ix_messages_run_seq", "run_id", "seq"),
        CheckConstraint(check_sql(MessageStatus), name="ck_messages_status"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    project: str
    thread_id: str
    created_at: int
    status: str
    incomplete_details: str | None = Field(default=None, sa_column=Column(Text))
    completed_at: int | None = None
    incomplete_at: int | None = None
    role: str
    content: str = Field(sa_column=Column(Text, nullable=False))
    assistant_id: str | None = None
    run_id: str | None = None
    attachments: str | None = Field(default=None, sa_column=Column(Text))
    metadata_: str | None = Field(default=None, sa_column=Column("metadata", Text))


class RunRow(Base, table=True):
    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(check_sql(RunStatus), name="ck_runs_status"),
        Index("ix_runs_thread_seq", "thread_id", "seq"),
        # One active run per thread, enforced by the database itself.
        Index(
            "ux_runs_one_active_per_thread",
            "thread_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        # A claim finds the projects with queued runs and reads each one's oldest, and counts
        # each one's runs in flight (`store.picking.pick_sql`); the sweeper scans held runs by
        # lease.
        Index(
            "ix_runs_queued_project",
            "project",
            "seq",
            sqlite_where=text(_QUEUED_SQL),
            postgresql_where=text(_QUEUED_SQL),
        ),
        Index(
            "ix_runs_held_project",
            "project",
            sqlite_where=text("worker_id IS NOT NULL"),
            postgresql_where=text("worker_id IS NOT NULL"),
        ),
        Index(
            "ix_runs_leased",
            "lease_expires_at",
            sqlite_where=text("worker_id IS NOT NULL"),
            postgresql_where=text("worker_id IS NOT NULL"),
        ),
        Index(
            "ix_runs_expiring",
            "expires_at",
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
    )

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    project: str
    thread_id: str
    assistant_id: str
    created_at: int
    status: str
    required_action: str | None = Field(default=None, sa_column=Column(Text))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    expires_at: int | None = None
    started_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    incomplete_details: str | None = Field(default=None, sa_column=Column(Text))
    model: str
    instructions: str = Field(sa_column=Column(Text, nullable=False))
    tools: str = Field(sa_column=Column(Text, nullable=False))
    metadata_: str | None = Field(default=None, sa_column=Column("metadata", Text))
    usage: str | None = Field(default=None, sa_column=Column(Text))
    temperature: float | None = None
    top_p: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: str | None = Field(default=None, sa_column=Column(Text))
    tool_choice: str | None = Field(default=None, sa_column=Column(Text))
    parallel_tool_calls: int
    response_format: str | None = Field(default=None, sa_column=Column(Text))
    reasoning_effort: str | None = None
    # Run inputs the API does not echo: extension fields (variables, fallbacks, ...).
    extensions: str | None = Field(default=None, sa_column=Column(Text))
    # Execution state, never shown through the API.
    worker_id: str | None = None
    lease_expires_at: float | None = None
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    cancel_requested: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    # The sequence number of the last event appended to this run's log.
    event_seq: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Streams following the run's log from other processes (Postgres): while there are any, every
    # append is announced (NOTIFY); otherwise only the changes pollers wait for are.
    followers: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class RunStepRow(Base, table=True):
    __tablename__ = "run_steps"
    __table_args__ = (
        Index("ix_run_steps_run_seq", "run_id", "seq"),
        CheckConstraint(check_sql(StepStatus), name="ck_run_steps_status"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    project: str
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: int
    type: str
    status: str
    step_details: str = Field(sa_column=Column(Text, nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    expired_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    metadata_: str | None = Field(default=None, sa_column=Column("metadata", Text))
    usage: str | None = Field(default=None, sa_column=Column(Text))
    extensions: str | None = Field(default=None, sa_column=Column(Text))


class RunEventRow(Base, table=True):
    __tablename__ = "run_events"

    run_id: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    created_at: float
    event: str
    data: str = Field(sa_column=Column(Text, nullable=False))
    # "api": `data` is the payload as the API streams it; "row": `data` is the changed run, step
    # or message row (its columns as a JSON object), rendered into the API's shape when read.
    data_format: str = Field(
        default="api", sa_column=Column(String, nullable=False, server_default="api")
    )


# --- prompts: named templates, immutable numbered versions, movable release labels -------------


class PromptRow(Base, table=True):
    __tablename__ = "prompts"
    __table_args__ = (
        Index("ix_prompts_project_seq", "project", "seq"),
        # A name is unique per project (one API key's objects).
        Index("ux_prompts_project_name", "project", "name", unique=True),
    )

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    project: str
    name: str
    description: str | None = None
    metadata_: str | None = Field(default=None, sa_column=Column("metadata", Text))
    created_at: int
    # The number of the newest version (0: none yet); bumped in the transaction that adds one.
    latest_version: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )


class PromptVersionRow(Base, table=True):
    """One immutable version: never updated once inserted."""

    __tablename__ = "prompt_versions"
    __table_args__ = (
        Index("ix_prompt_versions_prompt_seq", "prompt_id", "seq"),
        Index("ux_prompt_versions_prompt_version", "prompt_id", "version", unique=True),
    )

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    prompt_id: str
    version: int
    created_at: int
    # The template: `messages` (a JSON list) or `instructions` (text), with `{{variables}}`.
    messages: str | None = Field(default=None, sa_column=Column(Text))
    instructions: str | None = Field(default=None, sa_column=Column(Text))
    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: str | None = Field(default=None, sa_column=Column(Text))
    response_format: str | None = Field(default=None, sa_column=Column(Text))
    tools: str | None = Field(default=None, sa_column=Column(Text))
    tool_choice: str | None = Field(default=None, sa_column=Column(Text))
    commit_message: str | None = Field(default=None, sa_column=Column(Text))


class PromptLabelRow(Base, table=True):
    """A release label: a name per prompt pointing at one of its versions."""

    __tablename__ = "prompt_labels"

    prompt_id: str = Field(primary_key=True)
    label: str = Field(primary_key=True)
    version: int
    updated_at: int


class PromptLabelMoveRow(Base, table=True):
    """The history of a label: one row per set, move or delete (`to_version` NULL)."""

    __tablename__ = "prompt_label_moves"
    __table_args__ = (Index("ix_prompt_label_moves_label_seq", "prompt_id", "label", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    prompt_id: str
    label: str
    from_version: int | None = None
    to_version: int | None = None
    moved_at: int


class SpanRow(Base, table=True):
    """A traced unit of work: a run (the root), a model call, a tool call or a completion.

    Times are fractional Unix seconds; `tags`, `fallbacks`, `metadata`, `error`, `input` and
    `output` are JSON text. A run's root span keeps only what the run row does not: its status,
    usage and cost are read from the run (`store.spans`).
    """

    __tablename__ = "spans"
    __table_args__ = (
        Index("ix_spans_project_seq", "project", "seq"),
        Index("ix_spans_trace", "trace_id", "seq"),
        Index("ix_spans_session", "project", "session_id", "seq"),
        Index("ix_spans_user", "project", "user_id", "seq"),
        Index("ix_spans_started", "started_at"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    project: str
    trace_id: str
    parent_span_id: str | None = None
    kind: str
    name: str
    status: str
    error: str | None = Field(default=None, sa_column=Column(Text))
    started_at: float
    ended_at: float | None = None
    time_to_first_token_ms: float | None = None
    requested_model: str | None = None
    model: str | None = None
    provider: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    retries: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    fallbacks: str | None = Field(default=None, sa_column=Column(Text))
    tags: str | None = Field(default=None, sa_column=Column(Text))
    user_id: str | None = None
    session_id: str | None = None
    metadata_: str | None = Field(default=None, sa_column=Column("metadata", Text))
    group_id: str | None = None
    run_id: str | None = None
    thread_id: str | None = None
    assistant_id: str | None = None
    input: str | None = Field(default=None, sa_column=Column(Text))
    output: str | None = Field(default=None, sa_column=Column(Text))


class WorkerRow(Base, table=True):
    """A worker that is running (or was, until its process died without a word): which process
    holds the runs leased to `id`, so a worker on the same host can prove that process gone and
    take its runs back without waiting for their leases."""

    __tablename__ = "workers"
    __table_args__ = (Index("ix_workers_host", "host"),)

    id: str = Field(primary_key=True)
    # The host's identity: its name, boot id and pid namespace (one pid space, one process list).
    host: str
    pid: int
    # The process's start time (clock ticks after boot), so a reused pid is not taken for it.
    started: str
    registered_at: int


# --- files and vector stores ----------------------------------------------------------------


class FileRow(Base, table=True):
    __tablename__ = "files"
    __table_args__ = (Index("ix_files_project_seq", "project", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    project: str
    created_at: int
    bytes: int
    filename: str
    purpose: str
    expires_at: int | None = None
    # SHA-256 of the content (hex), checked on every read.
    sha256: str
    # Where the bytes live: "directory" (a file named by the id, beside a SQLite database) or
    # "database" (rows of `file_parts`: Postgres, and SQLite in memory).
    storage: str


class FilePartRow(Base, table=True):
    """A file's bytes in the database, in parts of at most 1 MiB, in order."""

    __tablename__ = "file_parts"

    file_id: str = Field(primary_key=True)
    part: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class VectorStoreRow(Base, table=True):
    __tablename__ = "vector_stores"
    __table_args__ = (Index("ix_vector_stores_project_seq", "project", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    project: str
    created_at: int
    name: str | None = None
    expires_after: str | None = Field(default=None, sa_column=Column(Text))
    expires_at: int | None = None
    last_active_at: int | None = None
    metadata_: str | None = Field(default=None, sa_column=Column("metadata", Text))


class VectorStoreFileRow(Base, table=True):
    """A file in a vector store (its `id` is the file's id) and its ingestion."""

    __tablename__ = "vector_store_files"
    __table_args__ = (
        Index("ux_vector_store_files", "vector_store_id", "id", unique=True),
        Index("ix_vector_store_files_store_seq", "vector_store_id", "seq"),
        Index("ix_vector_store_files_file", "id"),
        Index(
            "ix_vector_store_files_batch",
            "batch_id",
            sqlite_where=text("batch_id IS NOT NULL"),
            postgresql_where=text("batch_id IS NOT NULL"),
        ),
        # The ingestion queue: files waiting for (or held by) a worker.
        Index(
            "ix_vector_store_files_pending",
            "lease_expires_at",
            sqlite_where=text("status = 'in_progress'"),
            postgresql_where=text("status = 'in_progress'"),
        ),
    )

    seq: int | None = Field(default=None, primary_key=True)
    id: str
    vector_store_id: str
    project: str
    created_at: int
    status: str
    usage_bytes: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    chunking_strategy: str = Field(sa_column=Column(Text, nullable=False))
    attributes: str | None = Field(default=None, sa_column=Column(Text))
    batch_id: str | None = None
    # Ingestion state, never shown through the API.
    lease_expires_at: float | None = None
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class FileBatchRow(Base, table=True):
    __tablename__ = "vector_store_file_batches"
    __table_args__ = (Index("ix_file_batches_store_seq", "vector_store_id", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    vector_store_id: str
    project: str
    created_at: int
    cancelled: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class ChunkRow(Base, table=True):
    """A searchable piece of a file in one vector store. Lexical search indexes `text`: an FTS5
    table over it on SQLite (`chunks_fts`, kept by the store), a GIN index on Postgres. With an
    embedding model configured, `embedding` holds the chunk's unit vector (float32 bytes on
    SQLite, `real[]` on Postgres), `embedding_model` the model that made it and `embedding_dims`
    its length."""

    __tablename__ = "chunks"
    __table_args__ = (
        Index("ix_chunks_store_file", "vector_store_id", "file_id"),
        Index(
            "ix_chunks_text_search",
            text("to_tsvector('english', text)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    vector_store_id: str
    file_id: str
    position: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    tokens: int
    embedding: Any = Field(
        default=None,
        sa_column=Column(LargeBinary().with_variant(ARRAY(REAL), "postgresql"), nullable=True),
    )
    embedding_model: str | None = None
    embedding_dims: int | None = None


CHUNKS_FTS_SQL = (
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='seq')"
)
event.listen(
    ChunkRow.__table__,  # type: ignore[attr-defined]
    "after_create",
    DDL(CHUNKS_FTS_SQL).execute_if(dialect="sqlite"),  # type: ignore[no-untyped-call]
)
