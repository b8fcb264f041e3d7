"""Curation fixtures: small synthetic pools and eval sets written as JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def write_jsonl():
    """Write rows (dicts, or raw strings for broken lines) as a JSONL file."""
    return _write_jsonl


@pytest.fixture(scope="session")
def tokenizer_dir(tiny_qwen_dir: Path) -> str:
    """The real Qwen2.5 tokenizer (inside the tiny model folder) for trace lengths."""
    return str(tiny_qwen_dir)


class ChatServer:
    """A real OpenAI-compatible chat-completions server on 127.0.0.1 that counts its calls.

    `respond(model, prompt)` returns a dict: `content` (+ optional `reasoning`,
    `finish_reason`) for a normal reply, or `status` (an HTTP error), `raw` (a garbage body),
    `sleep` (seconds before answering, to trigger client timeouts). After `answer_limit`
    answered calls, further calls hang until the server stops (a teacher dying mid-run).
    """

    def __init__(self) -> None:
        import threading

        self.calls: list[tuple[str, str]] = []
        self.systems: dict[str, str] = {}  # prompt -> the system prompt sent with it
        self.answered: list[str] = []
        self.admitted = 0  # calls let through (counted on arrival, so concurrency cannot overshoot)
        self.answer_limit: int | None = None
        self.respond = lambda model, prompt: {"content": f"echo: {prompt}"}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = None

    def start(self) -> str:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model, prompt = body["model"], body["messages"][-1]["content"]
                with server._lock:
                    server.calls.append((model, prompt))
                    if body["messages"][0]["role"] == "system":
                        server.systems[prompt] = body["messages"][0]["content"]
                    blocked = server.answer_limit is not None and server.admitted >= server.answer_limit
                    server.admitted += not blocked
                if blocked:
                    server._stop.wait()
                    return
                reply = server.respond(model, prompt)
                if "sleep" in reply:
                    server._stop.wait(reply["sleep"])
                if "status" in reply:
                    self._send(reply["status"], b'{"error": "busy"}', reply.get("headers", {}))
                    return
                if "raw" in reply:
                    self._send(200, reply["raw"].encode())
                    return
                message = {"role": "assistant", "content": reply["content"]}
                if "reasoning" in reply:
                    message["reasoning_content"] = reply["reasoning"]
                payload = {"id": "x", "object": "chat.completion", "model": model,
                           "choices": [{"index": 0, "message": message,
                                        "finish_reason": reply.get("finish_reason", "stop")}]}
                self._send(200, json.dumps(payload).encode())
                with server._lock:
                    server.answered.append(prompt)

            def _send(self, status: int, data: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def prompts(self, model: str | None = None) -> list[str]:
        with self._lock:
            return [p for m, p in self.calls if model is None or m == model]

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def chat_server():
    server = ChatServer()
    server.base_url = server.start()
    yield server
    server.stop()
