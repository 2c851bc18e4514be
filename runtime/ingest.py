"""Ingestion of files into vector stores: text extraction, chunking, and the worker's loop.

Extraction and chunking are plain functions run in a worker thread (`anyio.to_thread`), never on
the event loop. Supported types, by file name: plain text (`.txt`, `.text`, `.log`, `.csv`, code
files), Markdown, JSON, HTML and PDF (through `pypdf`). Anything else, and bytes that are not
what their name says (a binary file named `.txt`, a corrupt PDF, a PDF without a text layer),
fails the file with a `last_error` that says why.

Tokens are counted as words and punctuation marks (`\\w+` or one other non-space character), a
close stand-in for a model tokenizer's count on prose that needs no model files; a chunk is a
run of at most `max_chunk_size_tokens` of them, consecutive chunks sharing
`chunk_overlap_tokens`, each chunk the exact slice of the text its tokens span.

With an embedding model configured (`runtime/embeddings.py`), the chunks are embedded before
they are stored; a model that cannot be reached or gives no vectors fails the file with the
cause in `last_error` (adding the file again retries it).
"""

from __future__ import annotations

import html.parser
import io
import json
import re
from pathlib import PurePosixPath
from typing import Any

import anyio
import anyio.to_thread

from runtime.embeddings import Embedder, EmbeddingFailed
from store.errors import APIError
from store.log import get_logger
from store.store import Store
from store.vector_ingest import MAX_INGEST_ATTEMPTS, Chunk, IngestJob

log = get_logger("assistants.ingest")

TEXT_SUFFIXES = frozenset(
    {
        ".txt",
        ".text",
        ".log",
        ".csv",
        ".tsv",
        ".py",
        ".js",
        ".ts",
        ".java",
        ".c",
        ".h",
        ".cpp",
        ".cs",
        ".go",
        ".rb",
        ".php",
        ".sh",
        ".css",
        ".tex",
        ".xml",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".rst",
    }
)
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED = "plain text (.txt, code and other text files), Markdown (.md), JSON, HTML and PDF"

_TOKEN = re.compile(r"\w+|[^\w\s]")


class ExtractionError(Exception):
    """The file's text cannot be read; `code` is the `last_error` code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _HTMLText(html.parser.HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "template", "noscript"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _decode(data: bytes, filename: str) -> str:
    if b"\x00" in data:
        raise ExtractionError(
            "invalid_file", f"The file '{filename}' is binary, not text: it cannot be searched."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractionError(
            "invalid_file",
            f"The file '{filename}' is not valid UTF-8 text (byte {exc.start}): it cannot be "
            "searched.",
        ) from None


def _pdf_text(data: bytes, filename: str) -> str:
    import pypdf  # noqa: PLC0415  (only PDFs need it)
    from pypdf.errors import PyPdfError  # noqa: PLC0415

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError(
            "invalid_file", f"The file '{filename}' could not be read as a PDF: {exc}"
        ) from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise ExtractionError(
            "invalid_file",
            f"The PDF '{filename}' has no text layer (a scanned image?): there is no text to "
            "search. Run it through OCR and upload the result.",
        )
    return text


def extract_text(data: bytes, filename: str) -> str:
    """The searchable text of a file, by its name's type; `ExtractionError` if it has none."""
    suffix = PurePosixPath(filename.lower()).suffix
    if suffix == ".pdf":
        return _pdf_text(data, filename)
    if suffix in TEXT_SUFFIXES or suffix in MARKDOWN_SUFFIXES:
        return _decode(data, filename)
    if suffix == ".json":
        text = _decode(data, filename)
        try:
            json.loads(text)
        except ValueError as exc:
            raise ExtractionError(
                "invalid_file", f"The file '{filename}' is not valid JSON: {exc}"
            ) from None
        return text
    if suffix in HTML_SUFFIXES:
        parser = _HTMLText()
        parser.feed(_decode(data, filename))
        parser.close()
        return re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()
    shown = suffix or "(no extension)"
    raise ExtractionError(
        "unsupported_file",
        f"Files of type '{shown}' are not supported for file search ('{filename}'). "
        f"Supported types: {SUPPORTED}.",
    )


def chunk_text(text: str, *, max_tokens: int, overlap: int) -> list[Chunk]:
    """Windows of at most `max_tokens` tokens, `overlap` shared between neighbours."""
    spans = [m.span() for m in _TOKEN.finditer(text)]
    chunks: list[Chunk] = []
    step = max(max_tokens - overlap, 1)
    start = 0
    while start < len(spans):
        window = spans[start : start + max_tokens]
        piece = text[window[0][0] : window[-1][1]]
        chunks.append(Chunk(position=len(chunks), text=piece, tokens=len(window)))
        if start + max_tokens >= len(spans):
            break
        start += step
    return chunks


def prepare(data: bytes, filename: str, chunking: dict[str, Any]) -> list[Chunk]:
    """Extract and chunk (run off the loop)."""
    static = chunking["static"]
    text = extract_text(data, filename)
    return chunk_text(
        text,
        max_tokens=int(static["max_chunk_size_tokens"]),
        overlap=int(static["chunk_overlap_tokens"]),
    )


class Ingester:
    """A worker's ingestion loop: claim a waiting file, read it, chunk it, index it."""

    def __init__(self, store: Store, poll_seconds: float, embedder: Embedder | None = None) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.embedder = embedder
        self.files_ingested = 0

    async def run(self) -> None:
        part = self.store.vector_stores
        while True:
            try:
                job = await part.claim_ingest()
            except Exception:  # the database may be restarting: log, wait, retry
                log.exception("ingest_claim_failed")
                job = None
            if job is None:
                await part.wait_for_work(self.poll_seconds)
                continue
            try:
                await self.ingest(job)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await part.release_ingest(job)
                raise

    async def ingest(self, job: IngestJob) -> None:
        part = self.store.vector_stores
        log.info("ingest_started", file_id=job.file_id, vector_store_id=job.vector_store_id)
        if job.attempts > MAX_INGEST_ATTEMPTS:
            await part.fail_ingest(
                job, "server_error", "Ingestion was interrupted too many times; add it again."
            )
            return
        try:
            found = await self.store.files.get(job.project, job.file_id)
            data = await self.store.files.content(job.project, job.file_id)
            chunks = await anyio.to_thread.run_sync(prepare, data, found.filename, job.chunking)
        except ExtractionError as exc:
            log.info("ingest_failed", file_id=job.file_id, code=exc.code)
            await part.fail_ingest(job, exc.code, exc.message)
            return
        except APIError as exc:  # the file is gone or damaged
            await part.fail_ingest(job, "invalid_file", exc.message)
            return
        vectors = None
        if self.embedder is not None and chunks:
            try:
                vectors = await self.embedder.embed(
                    [c.text for c in chunks], between=lambda: part.renew_ingest(job)
                )
            except EmbeddingFailed as exc:
                log.warning("ingest_embedding_failed", file_id=job.file_id, error=str(exc))
                await part.fail_ingest(job, "server_error", str(exc))
                return
        usage = sum(len(c.text.encode()) for c in chunks)
        model = self.embedder.label if self.embedder is not None else None
        if await part.finish_ingest(job, chunks, usage, vectors, model):
            self.files_ingested += 1
            log.info("ingest_completed", file_id=job.file_id, chunks=len(chunks))
