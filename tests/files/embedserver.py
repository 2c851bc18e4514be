"""An embeddings server on loopback speaking OpenAI's `/v1/embeddings` and Gemini's
`models/{model}:batchEmbedContents` / `:embedContent`, with deterministic vectors.

A text's vector is a hashed bag of *concepts*: each word is lowercased, mapped through a small
thesaurus to its concept ("automobile", "car" and "vehicle" are one), and counted in the
dimension its concept hashes to. So texts about the same things are near in vector space even
when they share no word. The model name's trailing number is the dimension count
(`hash-64`: 64). Requests are recorded (`requests`: path and number of texts).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

THESAURUS = {
    concept: concept
    for concept in ("car", "repair", "engine", "ocean", "boat", "bread", "bake", "money")
}
THESAURUS.update(
    {
        "automobile": "car",
        "vehicle": "car",
        "vehicles": "car",
        "cars": "car",
        "fix": "repair",
        "fixing": "repair",
        "mend": "repair",
        "mechanic": "repair",
        "motor": "engine",
        "sea": "ocean",
        "marine": "ocean",
        "ship": "boat",
        "sailing": "boat",
        "vessel": "boat",
        "loaf": "bread",
        "dough": "bread",
        "oven": "bake",
        "baking": "bake",
        "cash": "money",
        "salary": "money",
    }
)


def vector(text: str, dims: int) -> list[float]:
    out = [0.0] * dims
    for word in re.findall(r"\w+", text.lower()):
        concept = THESAURUS.get(word, word)
        slot = int.from_bytes(hashlib.sha256(concept.encode()).digest()[:4], "big") % dims
        out[slot] += 1.0
    if not any(out):
        out[0] = 1.0
    return out


def model_dims(model: str) -> int:
    found = re.search(r"(\d+)$", model)
    return int(found.group(1)) if found else 64


class EmbeddingServer:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[str, int]] = []
        self.fail_status: int | None = None
        self.dims: int | None = None
        self.garbled = False
        self._holds: dict[int, tuple[threading.Event, threading.Event]] = {}
        self._lock = threading.Lock()
        """Answer `/embeddings` with strings where the vectors should be."""
        """Vectors of this length whatever the model says (a model changed under its name)."""
        owner = self

        def dims_of(model: str) -> int:
            return owner.dims or model_dims(model)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if owner.fail_status is not None:
                    self._send(owner.fail_status, {"error": {"message": "embedding overloaded"}})
                    return
                path = self.path
                if path.endswith("/embeddings"):
                    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    with owner._lock:
                        owner.requests.append((path, len(texts)))
                        held = owner._holds.get(len(owner.requests))
                    if held is not None:
                        held[0].set()
                        held[1].wait(60)
                    dims = dims_of(body["model"])
                    data = [
                        {"object": "embedding", "index": i, "embedding": vector(t, dims)}
                        for i, t in enumerate(texts)
                    ]
                    data.reverse()  # `index` says the order, not the position
                    if owner.garbled:
                        data = [{**d, "embedding": "not a vector"} for d in data]
                    self._send(200, {"object": "list", "data": data, "model": body["model"]})
                elif path.endswith(":batchEmbedContents"):
                    model = path.rsplit("/", 1)[1].split(":")[0]
                    texts = [r["content"]["parts"][0]["text"] for r in body["requests"]]
                    owner.requests.append((path, len(texts)))
                    found = [{"values": vector(t, dims_of(model))} for t in texts]
                    self._send(200, {"embeddings": found})
                elif path.endswith(":embedContent"):
                    model = path.rsplit("/", 1)[1].split(":")[0]
                    owner.requests.append((path, 1))
                    text = body["content"]["parts"][0]["text"]
                    self._send(200, {"embedding": {"values": vector(text, dims_of(model))}})
                else:
                    self._send(404, {"error": {"message": f"no route {path}"}})

            def _send(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def hold(self, nth: int) -> tuple[threading.Event, threading.Event]:
        """The `nth` request (from 1) sets the first event when it arrives and is answered once
        the second is set."""
        held = self._holds[nth] = (threading.Event(), threading.Event())
        return held

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
