"""What the document's parts share: media types, id patterns (the checks' own) and references
between schemas."""

from __future__ import annotations

from typing import Final

from store.span_types import SPAN_ID, TRACE_ID

JSON: Final = "application/json"
SSE: Final = "text/event-stream"
SPAN_PATTERN: Final = f"^{SPAN_ID.pattern}$"
TRACE_PATTERN: Final = f"^{TRACE_ID.pattern}$"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}
