"""An assistant that takes its instructions from a prompt's `prod` label.

Run: python examples/prompt_assistant.py

The prompt is resolved when each run is created, and the run records the version it used, so
moving the label changes new runs without touching the assistant (and old runs keep theirs).
`variables` fill the template's `{{placeholders}}`. It uses the built-in `test` model (a test
double, no network).
"""

from __future__ import annotations

import os
import tempfile

from assistants import Client
from assistants.logs import configure_logging


def main() -> None:
    configure_logging("warning")
    database = os.environ.get(
        "ASSISTANTS_DATABASE_URL", f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/prompts.db"
    )
    with Client(database_url=database) as client:
        client.prompts.create(name="concierge")
        client.prompts.versions.create("concierge", instructions="Greet {{guest}} formally.")
        client.prompts.versions.create("concierge", instructions="Greet {{guest}} warmly.")
        client.prompts.labels.set("concierge", label="prod", version=1)
        assistant = client.assistants.create(
            model="test", name="Concierge", prompt={"name": "concierge", "label": "prod"}
        )

        def run_once() -> None:
            run = client.threads.create_and_run_poll(
                assistant_id=assistant.id,
                thread={"messages": [{"role": "user", "content": "Hello!"}]},
                variables={"guest": "Ms. Lovelace"},
            )
            used = run.prompt  # the version the run took its instructions from
            assert used is not None
            print(f"run {run.status}: version {used.version} -> {run.instructions}")

        run_once()
        # The operator moves `prod` (only if it still points at 1); the assistant is untouched.
        client.prompts.labels.set("concierge", label="prod", version=2, expected_version=1)
        run_once()


if __name__ == "__main__":
    main()
