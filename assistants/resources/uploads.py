"""What an upload accepts and a download returns, as openai-python types them: `FileTypes`
(bytes, a binary file object, a path, or a `(filename, content[, content_type])` tuple) read in
parts, and `BinaryContent`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any, TypeAlias

import anyio
import anyio.to_thread

from assistants import validation as v
from store.files import PART_BYTES

FileContent: TypeAlias = IO[bytes] | bytes | os.PathLike[str]
FileTypes: TypeAlias = (
    FileContent | tuple[str | None, FileContent] | tuple[str | None, FileContent, str | None]
)

FILENAME_MAX = 512


class BinaryContent:
    """A downloaded file, as openai-python's binary response offers it."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    def read(self) -> bytes:
        return self.content

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        size = chunk_size or PART_BYTES
        for start in range(0, len(self.content), size):
            yield self.content[start : start + size]

    def write_to_file(self, file: str | os.PathLike[str]) -> None:
        Path(file).write_bytes(self.content)


def upload_source(file: object) -> tuple[str, AsyncIterator[bytes]]:
    """The filename and the bytes (in parts) of an openai-python `FileTypes` value."""
    name: str | None = None
    if isinstance(file, tuple):
        if len(file) not in (2, 3):
            raise v.invalid_type("file", "a file, or a (filename, content) tuple", file)
        name, file = file[0], file[1]
    if isinstance(file, bytes | bytearray | memoryview):
        data = bytes(file)
        return _filename(name, "upload"), _from_bytes(data)
    if isinstance(file, os.PathLike):
        path = Path(file)
        return _filename(name, path.name), _from_path(path)
    read = getattr(file, "read", None)
    if callable(read):
        default = os.path.basename(str(getattr(file, "name", "") or "")) or "upload"
        return _filename(name, default), _from_stream(file)
    raise v.invalid_type("file", "a file (bytes, a binary file object or a path)", file)


def _filename(name: object, default: str) -> str:
    if name is None:
        name = default
    return v.string(name, "filename", max_length=FILENAME_MAX) or default


async def _from_bytes(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), PART_BYTES):
        yield data[start : start + PART_BYTES]


async def _from_path(path: Path) -> AsyncIterator[bytes]:
    handle = await anyio.open_file(path, "rb")
    async with handle:
        while chunk := await handle.read(PART_BYTES):
            yield chunk


async def _from_stream(stream: Any) -> AsyncIterator[bytes]:
    while True:
        chunk = await anyio.to_thread.run_sync(stream.read, PART_BYTES)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise v.invalid_type("file", "a file opened in binary mode", chunk)
        yield bytes(chunk)
