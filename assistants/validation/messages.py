"""Messages to store: role, content parts and attachments."""

from __future__ import annotations

from typing import Any

from assistants.validation.base import invalid_value, missing
from assistants.validation.limits import (
    MESSAGE_ATTACHMENTS_MAX,
    MESSAGE_CONTENT_MAX,
    MESSAGE_PARTS_MAX,
    THREAD_MESSAGES_MAX,
)
from assistants.validation.scalars import array, metadata, obj, string


def _detail(part: dict[str, Any], path: str) -> str | None:
    detail = part.get("detail")
    if detail is None:
        return None
    if detail not in ("auto", "low", "high"):
        raise invalid_value(f"{path}.detail", detail, ["auto", "low", "high"])
    return str(detail)


def message_content(value: object, param: str = "content") -> list[dict[str, Any]]:
    """Input content (a string or an array of parts) as output content parts."""
    if value is None:
        raise missing(param)
    if isinstance(value, str):
        string(value, param, max_length=MESSAGE_CONTENT_MAX)
        return [{"type": "text", "text": {"value": value, "annotations": []}}]
    parts = array(value, param, min_length=1, max_length=MESSAGE_PARTS_MAX)
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(parts):
        path = f"{param}[{i}]"
        part = obj(raw, path)
        kind = part.get("type")
        if kind == "text":
            if part.get("text") is None:
                raise missing(f"{path}.text")
            text = string(part["text"], f"{path}.text", max_length=MESSAGE_CONTENT_MAX)
            out.append({"type": "text", "text": {"value": text, "annotations": []}})
        elif kind == "image_file":
            img = obj(part.get("image_file"), f"{path}.image_file")
            if img.get("file_id") is None:
                raise missing(f"{path}.image_file.file_id")
            out.append(
                {
                    "type": "image_file",
                    "image_file": {
                        "file_id": string(img["file_id"], f"{path}.image_file.file_id"),
                        "detail": _detail(img, f"{path}.image_file"),
                    },
                }
            )
        elif kind == "image_url":
            img = obj(part.get("image_url"), f"{path}.image_url")
            if img.get("url") is None:
                raise missing(f"{path}.image_url.url")
            out.append(
                {
                    "type": "image_url",
                    "image_url": {
                        "url": string(img["url"], f"{path}.image_url.url"),
                        "detail": _detail(img, f"{path}.image_url") or "auto",
                    },
                }
            )
        elif kind is None:
            raise missing(f"{path}.type")
        else:
            raise invalid_value(f"{path}.type", kind, ["text", "image_file", "image_url"])
    return out


def role(value: object, param: str = "role") -> str:
    if value is None:
        raise missing(param)
    if value not in ("user", "assistant"):
        raise invalid_value(param, value, ["user", "assistant"])
    return str(value)


def attachments(value: object, param: str = "attachments") -> list[dict[str, Any]] | None:
    if value is None:
        return None
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(array(value, param, max_length=MESSAGE_ATTACHMENTS_MAX)):
        path = f"{param}[{i}]"
        att = obj(raw, path)
        item: dict[str, Any] = {}
        if att.get("file_id") is not None:
            item["file_id"] = string(att["file_id"], f"{path}.file_id")
        tools_out: list[dict[str, str]] = []
        for j, tool in enumerate(array(att.get("tools") or [], f"{path}.tools")):
            kind = obj(tool, f"{path}.tools[{j}]").get("type")
            if kind not in ("code_interpreter", "file_search"):
                raise invalid_value(
                    f"{path}.tools[{j}].type", kind, ["code_interpreter", "file_search"]
                )
            tools_out.append({"type": str(kind)})
        item["tools"] = tools_out
        out.append(item)
    return out


def new_message(value: object, param: str) -> dict[str, Any]:
    """One message to store (`messages[i]`, `additional_messages[i]`, or a plain create: "")."""
    msg = obj(value, param or "body")
    prefix = f"{param}." if param else ""
    return {
        "role": role(msg.get("role"), f"{prefix}role"),
        "content": message_content(msg.get("content"), f"{prefix}content"),
        "attachments": attachments(msg.get("attachments"), f"{prefix}attachments"),
        "metadata": metadata(msg.get("metadata"), f"{prefix}metadata"),
    }


def new_messages(value: object, param: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    items = array(value, param, max_length=THREAD_MESSAGES_MAX)
    return [new_message(m, f"{param}[{i}]") for i, m in enumerate(items)]
