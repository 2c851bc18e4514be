-- Migration 0010 (sqlite): a chunk may carry its embedding (float32 values, unit length, as a
-- blob) and the model that made it, for vector and hybrid search when an embedding model is
-- configured. Chunks ingested without one keep NULL and are found by lexical search only.

ALTER TABLE chunks ADD COLUMN embedding BLOB;
ALTER TABLE chunks ADD COLUMN embedding_model VARCHAR;
