-- Migration 0008 (postgresql): each running worker records the process it runs in (host identity, pid,
-- the process's start time), so a worker on the same host that finds that process gone takes
-- its runs back at once instead of waiting for their leases to lapse.

CREATE TABLE workers (
	id VARCHAR NOT NULL,
	host VARCHAR NOT NULL,
	pid INTEGER NOT NULL,
	started VARCHAR NOT NULL,
	registered_at INTEGER NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_workers_host ON workers (host);
