"""Checks against the official openai SDK's own models (the judge of wire compatibility)."""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import BaseModel

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
    from openai.types.beta.threads import Message, MessageDeleted, Run
    from openai.types.beta.threads.runs import RunStep

SDK_MODELS: dict[str, type[BaseModel]] = {
    "assistant": Assistant,
    "assistant.deleted": AssistantDeleted,
    "thread": Thread,
    "thread.deleted": ThreadDeleted,
    "thread.message": Message,
    "thread.message.deleted": MessageDeleted,
    "thread.run": Run,
    "thread.run.step": RunStep,
}


def sdk_validate(obj: Any) -> BaseModel:
    """Validate one of our objects with the SDK's strict model for its `object` type.

    Strict means: what `_strict_response_validation=True` clients require. The SDK model must
    accept the JSON and dump back to the same fields we sent.
    """
    data = obj.to_dict() if hasattr(obj, "to_dict") else obj
    model = SDK_MODELS[data["object"]]
    parsed = model.model_validate(data, strict=False)
    # Every required field of the SDK model is present and non-null.
    for name, field in model.model_fields.items():
        if field.is_required():
            assert data.get(name) is not None, f"{data['object']}.{name} is required by the SDK"
    dumped = parsed.model_dump(mode="json", exclude_unset=True)
    for key in model.model_fields:
        if key in data:
            assert dumped.get(key) == data[key], (key, dumped.get(key), data[key])
    return parsed
