-- Migration 0011 (sqlite): a chunk's embedding records its length (dimensions), so a search
-- finds vectors of another model or length without reading them. Filled in for the chunks
-- already embedded (4 bytes a float32).

ALTER TABLE chunks ADD COLUMN embedding_dims INTEGER;
UPDATE chunks SET embedding_dims = length(embedding) / 4 WHERE embedding IS NOT NULL;
