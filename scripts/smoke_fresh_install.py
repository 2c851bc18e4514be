"""Run the README's first command as a newcomer would, then talk to the server with the openai SDK.

    python scripts/smoke_fresh_install.py --repo . --command "$(grep ... README.md)"

Run it with a Python that has only the official `openai` SDK installed (a venv of its own): the
server side is whatever the README command installs, in a copy of the source tree (its own
temporary directory, so it is also the server's working directory and holds its SQLite file).

Steps: copy the tree; run the command exactly as the README has it (so on the default address,
127.0.0.1:8000, which must be free) in a new process group; wait for `/health`; one
`create_and_poll` and one streamed run with model `test`; Ctrl-C (SIGINT to the group, as a
terminal does); the command must exit 0. Any failure exits non-zero with the log.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", category=DeprecationWarning)  # the SDK marks Assistants so
from openai import OpenAI  # noqa: E402

START_TIMEOUT = 900.0  # the command installs the package first (cold pip caches are slow)
STOP_TIMEOUT = 60.0


def copy_tree(repo: Path, into: Path) -> None:
    """The files git knows (tracked and untracked, not ignored): what a fresh checkout holds."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = repo / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)


DEFAULT_PORT = 8000  # where `assistants serve` listens unless told otherwise


def require_free(port: int) -> None:
    """The README's command takes the default port: something else there would answer instead."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise SystemExit(
                f"smoke: 127.0.0.1:{port} is in use ({exc.strerror}); the README's command "
                "listens there: stop whatever holds it"
            ) from None


def wait_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"the command exited with {process.returncode} before serving", log)
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # installing, or not listening yet
        time.sleep(0.5)
    fail(f"no answer on {base}/health within {START_TIMEOUT:.0f} s", log)


def exercise(base_url: str) -> None:
    """One polled and one streamed run through the official SDK."""
    with OpenAI(base_url=base_url, api_key="local") as client:
        assistant = client.beta.assistants.create(model="test", instructions="Be brief.")
        thread = client.beta.threads.create(
            messages=[{"role": "user", "content": "hello from a fresh install"}]
        )
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        if run.status != "completed":
            raise SystemExit(f"create_and_poll: run {run.id} ended {run.status}: {run.last_error}")
        with client.beta.threads.runs.stream(
            thread_id=thread.id, assistant_id=assistant.id
        ) as stream:
            text = "".join(stream.text_deltas)
            final = stream.get_final_run()
        if final.status != "completed" or not text:
            raise SystemExit(f"stream: run {final.id} ended {final.status} with text {text!r}")
        print(f"smoke: create_and_poll completed; streamed {len(text)} characters")


def fail(message: str, log: Path) -> None:
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    raise SystemExit(f"smoke: {message}\n--- command output (tail) ---\n{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="the source checkout")
    parser.add_argument("--command", required=True, help="the README's install-and-serve line")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="assistants-fresh-"))
    log = workdir / "command.log"
    try:
        tree = workdir / "src"
        copy_tree(args.repo.resolve(), tree)
        port = DEFAULT_PORT
        require_free(port)
        line = args.command  # verbatim: no flag added
        print(f"smoke: in {tree}: {line}")
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["bash", "-c", line],
                cwd=tree,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: SIGINT reaches it as Ctrl-C does
                env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
            )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(process, base, log)
            exercise(f"{base}/v1")
            os.killpg(process.pid, signal.SIGINT)
            try:
                code = process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                fail(f"still running {STOP_TIMEOUT:.0f} s after SIGINT", log)
            if code != 0:
                fail(f"exited {code} after SIGINT (expected 0)", log)
            if not (tree / "assistants.db").is_file():
                fail("no assistants.db in the server's working directory", log)
            print("smoke: the server stopped on SIGINT with status 0")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
