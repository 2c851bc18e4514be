"""Prompts: a named template with numbered versions and a `prod` label, run through the model.

Run: python examples/prompts.py

`prompts.run` renders the version the label points at with `input_variables` and calls the model
through `chat.completions`; moving the label changes what the next call sends, with no deploy,
and moving it back is the rollback. The built-in `test` model (a test double that repeats the
last user message) answers here, offline; name a real model in the version to ask one.
"""

from __future__ import annotations

from assistants import BadRequestError, Client
from assistants.types import PromptRun

client = Client(database_url="sqlite+aiosqlite:///:memory:", worker=False)
client.prompts.create(name="support-reply", description="First answer to a ticket")
client.prompts.versions.create(
    "support-reply",
    messages=[
        {"role": "system", "content": "You answer {{product}} tickets."},
        {"role": "user", "content": "Reply to: {{ticket}}"},
    ],
    model="test",
    temperature=0.2,
    commit_message="first wording",
)
client.prompts.versions.create(
    "support-reply",
    messages=[
        {"role": "system", "content": "You answer {{product}} tickets, kindly."},
        {"role": "user", "content": "Reply kindly to: {{ticket}}"},
    ],
    model="test",
    commit_message="kinder",
)
client.prompts.labels.set("support-reply", label="prod", version=1)

result = client.prompts.run(
    "support-reply",
    input_variables={"product": "Acme Router", "ticket": "The light blinks red."},
    tags=["example"],
)
print("v1:", result.raw_response.choices[0].message.content)
print(
    "version:",
    result.prompt_blueprint.prompt_version,
    "| label:",
    result.prompt_blueprint.prompt_release_label,
)

# Move `prod` to version 2, but only if it still points at version 1 (compare-and-set).
client.prompts.labels.set("support-reply", label="prod", version=2, expected_version=1)
stream = client.prompts.run(
    "support-reply",
    input_variables={"product": "Acme Router", "ticket": "The light blinks red."},
    stream=True,
)
with stream:
    for item in stream:
        if isinstance(item, PromptRun):
            print("\nv2 blueprint:", item.prompt_blueprint.messages[1]["content"])
        elif item.choices:
            print(item.choices[0].delta.content or "", end="")

# Roll back: a second move from 1 would lose the race, and says where the label is now.
try:
    client.prompts.labels.set("support-reply", label="prod", version=1, expected_version=1)
except BadRequestError as exc:
    print("refused:", exc)
client.prompts.labels.set("support-reply", label="prod", version=1, expected_version=2)
(label,) = client.prompts.labels.list("support-reply").data
print("history:", [(m.from_version, m.to_version) for m in label.history])
client.close()
