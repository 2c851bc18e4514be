"""file_search in-process: upload a PDF into a vector store, ask an assistant, read the cited
answer. The `test` model (a test double, not a language model) searches for the question and
quotes what it found, with the markers that become `file_citation` annotations.

Run: python examples/file_search.py
"""

from __future__ import annotations

from pathlib import Path

from assistants import Client
from assistants.logs import configure_logging

HANDBOOK = Path(__file__).parent / "data" / "handbook.pdf"


def main() -> None:
    configure_logging("warning")
    with Client(database_url="sqlite+aiosqlite:///:memory:") as client:
        store = client.vector_stores.create(name="handbook")
        done = client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=HANDBOOK)
        print(f"{done.status}: {done.usage_bytes} bytes indexed")
        assistant = client.beta.assistants.create(
            model="test",
            tools=[{"type": "file_search"}],
            tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        )
        thread = client.beta.threads.create(
            messages=[{"role": "user", "content": "How many days do I have for returns?"}]
        )
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        print(f"run: {run.status}")
        answer = client.beta.threads.messages.list(thread_id=thread.id).data[0]
        text = answer.content[0].text  # type: ignore[union-attr]
        for note in text.annotations:
            cited = text.value[note.start_index : note.end_index]
            name = client.files.retrieve(note.file_citation.file_id).filename  # type: ignore[union-attr]
            print(f"cited {cited} -> {name}")
        print(f"answer: {text.value}")


if __name__ == "__main__":
    main()
