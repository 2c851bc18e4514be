"""Snapshot accumulation: merge stream deltas into the last full object (CONTRACT §8.5).

Pure functions shared by the sync and async event handlers, with the merge rules of
openai-python's `accumulate_delta`: strings are concatenated, numbers added, nested objects
merged, `index`/`type` overwritten, a missing or null key set, lists of `index`-keyed entries
merged entry by entry and other lists appended. Models are dumped (set fields only, as the SDK
does), merged and validated back; a fragment too partial to validate (say a first function call
fragment without `arguments`) is built without validation instead, its missing fields None, as
the SDK builds it.
"""

from __future__ import annotations

import copy
import functools
import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar, Union, cast, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from store.deltas import MessageContentDelta, TextDelta, TextDeltaBlock
from store.events import (
    StreamEvent,
    ThreadMessageCreated,
    ThreadMessageDelta,
    ThreadRunStepCreated,
    ThreadRunStepDelta,
)
from store.types import Message, MessageContent, RunStep, Text, TextContentBlock

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@functools.cache
def _step() -> TypeAdapter[RunStep]:
    return TypeAdapter(RunStep)


@functools.cache
def _content() -> TypeAdapter[MessageContent]:
    return TypeAdapter(MessageContent)


def accumulate_delta(acc: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """Merge `delta` into `acc` (which is updated in place) and return `acc`.

    `delta` is never modified: values taken from it are copied.
    """
    for key, value in delta.items():
        if acc.get(key) is None:
            if not _has_indexed_entries(value):
                acc[key] = copy.deepcopy(value)
                continue
            # Fragments of one entry may come together: merge even the first indexed list.
            acc[key] = []
        current = acc[key]
        if key in ("index", "type"):
            acc[key] = value
        elif (isinstance(current, str) and isinstance(value, str)) or (
            _is_number(current) and _is_number(value)
        ):
            acc[key] = current + value
        elif isinstance(current, dict) and isinstance(value, dict):
            accumulate_delta(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            _merge_list(current, value)
    return acc


def _is_number(value: object) -> bool:
    return isinstance(value, int | float)


def _has_indexed_entries(value: object) -> bool:
    return isinstance(value, list) and any(
        isinstance(entry, dict) and "index" in entry for entry in value
    )


def _merge_list(acc: list[Any], delta: list[Any]) -> None:
    """Merge `index`-keyed entries into place; append a list without them."""
    primitives = all(isinstance(x, str | int | float) for x in acc)
    if not _has_indexed_entries(delta) or (acc and primitives):
        acc.extend(copy.deepcopy(delta))
        return
    for entry in delta:
        if not isinstance(entry, dict):
            raise TypeError(f"Unexpected list delta entry is not a dictionary: {entry}")
        if "index" not in entry:
            raise RuntimeError(f"Expected list delta entry to have an `index` key; {entry}")
        index = entry["index"]
        if not isinstance(index, int):
            raise TypeError(
                f"Unexpected, list delta entry `index` value is not an integer; {index}"
            )
        if index < len(acc) and isinstance(acc[index], dict):
            accumulate_delta(acc[index], entry)
        elif index < len(acc):
            raise TypeError(f"Cannot merge list delta entry into {acc[index]!r}")
        else:
            acc.insert(index, copy.deepcopy(entry))


def accumulate_run_step(event: StreamEvent, snapshots: Mapping[str, RunStep]) -> RunStep | None:
    """The step snapshot `event` creates or updates (None when it touches none).

    `thread.run.step.created` gives its step; `thread.run.step.delta` merges into the snapshot
    of its step id (`KeyError` when that step was never created). Other step events leave the
    snapshots alone, as in the SDK: `get_final_run_steps()` reports accumulated snapshots.
    """
    if isinstance(event, ThreadRunStepCreated):
        return event.data
    if isinstance(event, ThreadRunStepDelta):
        snapshot = snapshots[event.data.id]
        return _rebuild(
            _step(), RunStep, accumulate_delta(_dump(snapshot), _dump(event.data.delta))
        )
    return None


def accumulate_event(
    event: StreamEvent, snapshot: Message | None
) -> tuple[Message | None, list[MessageContentDelta]]:
    """The message snapshot after `event`, and the content fragments that opened a new block.

    `thread.message.created` starts a snapshot; `thread.message.delta` merges each content
    fragment into the block at its `index`, or inserts a block when there is none yet (that
    fragment is returned, for `on_text_created`). The snapshot given is never modified: a delta
    gives a new `Message`. Other events return the snapshot unchanged.
    """
    if isinstance(event, ThreadMessageCreated):
        return event.data, []
    if not isinstance(event, ThreadMessageDelta):
        return snapshot, []
    if snapshot is None:
        raise RuntimeError("Encountered a message delta with no previous snapshot")
    fragments = event.data.delta.content
    if not fragments:
        return snapshot, []
    content = list(snapshot.content)
    created = accumulate_content(content, fragments)
    return replace_field(snapshot, "content", content), created


def accumulate_content(
    content: list[MessageContent], fragments: list[MessageContentDelta]
) -> list[MessageContentDelta]:
    """Merge a message delta's content `fragments` into `content` in place (what
    `accumulate_event` does to its copy of the snapshot's blocks); returns the fragments that
    opened a new block. The blocks themselves are never modified: a merge replaces the block."""
    created: list[MessageContentDelta] = []
    for fragment in fragments:
        try:
            block = content[fragment.index]
        except IndexError:
            content.insert(fragment.index, _rebuild(_content(), MessageContent, _dump(fragment)))
            created.append(fragment)
        else:
            appended = append_text(block, fragment)
            if appended is not None:
                content[fragment.index] = appended
                continue
            merged = accumulate_delta(_dump(block), _dump(fragment))
            content[fragment.index] = _rebuild(_content(), MessageContent, merged)
    return created


def append_text(block: MessageContent, fragment: MessageContentDelta) -> MessageContent | None:
    """The common case without the dump, merge and validation: a plain text fragment onto a text
    block already carrying its `index`. Gives what the general merge gives (the fragment's value
    appended, nothing else changed), or None when the fragment is anything more than that.
    (Pydantic's own attributes are read directly: this runs once per token.)"""
    if type(fragment) is not TextDeltaBlock or type(block) is not TextContentBlock:
        return None
    delta, text = fragment.text, block.text
    if type(delta) is not TextDelta or type(text) is not Text:
        return None
    given = delta.__pydantic_fields_set__
    if (
        fragment.__pydantic_extra__
        or delta.__pydantic_extra__
        or not fragment.__pydantic_fields_set__ <= _BLOCK_KEYS
        or not given <= _TEXT_KEYS
        or type(delta.value) is not str
        or type(text.value) is not str
        or "value" not in text.__pydantic_fields_set__
        or (block.__pydantic_extra__ or _NO_EXTRA).get("index", -1) != fragment.index
    ):
        return None
    if "annotations" in given and (
        delta.annotations != [] or "annotations" not in text.__pydantic_fields_set__
    ):
        return None  # annotations to merge, or a list the block does not have yet
    return replace_field(block, "text", replace_field(text, "value", text.value + delta.value))


def replace_field(model: M, name: str, value: Any) -> M:
    """A shallow copy of `model` with its field `name` set to `value`, as `model_copy(update=)`
    makes it (the field joins its set fields; extras are copied; nothing is validated either
    way), at a fraction of its cost."""
    new = model.__class__.__new__(model.__class__)
    values = model.__dict__.copy()
    values[name] = value
    extra = model.__pydantic_extra__
    _setattr(new, "__dict__", values)
    _setattr(new, "__pydantic_fields_set__", model.__pydantic_fields_set__ | {name})
    _setattr(new, "__pydantic_extra__", None if extra is None else extra.copy())
    _setattr(new, "__pydantic_private__", model.__pydantic_private__)
    return new


_setattr = object.__setattr__
_NO_EXTRA: dict[str, Any] = {}
_BLOCK_KEYS = frozenset({"index", "type", "text"})
_TEXT_KEYS = frozenset({"value", "annotations"})


def _dump(model: BaseModel) -> dict[str, Any]:
    """The fields set on `model` (wire keys), as the SDK dumps before merging."""
    return model.model_dump(exclude_unset=True, by_alias=True, warnings=False)


def _rebuild(adapter: TypeAdapter[T], tp: Any, data: dict[str, Any]) -> T:
    """`data` validated as `tp`, or built without validation when it is still partial."""
    try:
        return adapter.validate_python(data)
    except ValidationError:
        return cast("T", _construct(tp, data))


def _construct(tp: Any, value: Any) -> Any:
    """Build `value` as `tp` without validation: the union member is chosen by `type`, nested
    models are built too, unknown keys are kept and missing fields are None."""
    if isinstance(value, list):
        item = next((get_args(t)[0] for t in _members(tp) if get_origin(t) is list), Any)
        return [_construct(item, entry) for entry in value]
    model = _pick_model(tp, value) if isinstance(value, dict) else None
    if model is None:
        return value
    fields: dict[str, Any] = {}
    known: set[str] = set()
    for name, field in model.model_fields.items():
        key = field.alias or name
        known.update((key, name))
        if key in value:
            fields[name] = _construct(field.annotation, value[key])
        elif field.is_required():
            fields[name] = None
    extra = {key: item for key, item in value.items() if key not in known}
    return model.model_construct(**fields, **extra)


def _members(tp: Any) -> list[Any]:
    """The alternatives of a (possibly `Annotated`, possibly optional) union type."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _members(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(tp) for m in _members(arg)]
    return [tp]


def _pick_model(tp: Any, value: dict[str, Any]) -> type[BaseModel] | None:
    models = [m for m in _members(tp) if isinstance(m, type) and issubclass(m, BaseModel)]
    for model in models:
        field = model.model_fields.get("type")
        if field is None or get_origin(field.annotation) is not Literal:
            return model
        if value.get("type") in get_args(field.annotation):
            return model
    return None
