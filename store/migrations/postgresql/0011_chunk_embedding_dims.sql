-- Migration 0011 (postgresql): a chunk's embedding records its length (dimensions), so a search
-- finds vectors of another model or length without reading them, and a pgvector HNSW index
-- (an expression index, one per length) can be partial on it: `WHERE embedding_dims = 768`.
-- Filled in for the chunks already embedded.

ALTER TABLE chunks ADD COLUMN embedding_dims INTEGER;
UPDATE chunks SET embedding_dims = array_length(embedding, 1) WHERE embedding IS NOT NULL;
