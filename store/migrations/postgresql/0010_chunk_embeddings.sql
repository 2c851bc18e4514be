-- Migration 0010 (postgresql): a chunk may carry its embedding (unit length, as a real[]) and
-- the model that made it, for vector and hybrid search when an embedding model is configured.
-- Chunks ingested without one keep NULL and are found by lexical search only.

ALTER TABLE chunks ADD COLUMN embedding REAL[];
ALTER TABLE chunks ADD COLUMN embedding_model VARCHAR;
