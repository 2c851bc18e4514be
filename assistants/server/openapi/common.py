"""What the document's parts share: media types and references between schemas."""

from __future__ import annotations

from typing import Final

JSON: Final = "application/json"
SSE: Final = "text/event-stream"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}
