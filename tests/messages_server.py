"""A local HTTP server speaking the Messages API: it plays scripted responses and records requests.

Requests that force a tool (`tool_choice: {"type": "tool", "name": N}`, the router and dates stages) are
served from `stages[N]`; every other request from `script`. A script item is `(status, body)`, a
`Delay(seconds, item)` (for client timeouts) or `Raw(status, bytes)` (for a broken body).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EXHAUSTED = (500, {"type": "error", "error": {"type": "api_error", "message": "script exhausted"}})


@dataclass
class Delay:
    seconds: float
    item: Any


@dataclass
class Raw:
    status: int
    body: bytes


class ScriptedMessagesServer:
    """`script` items are served in order to POST /v1/messages; `stages` by forced tool name."""

    def __init__(self, script: list, stages: dict[str, list] | None = None) -> None:
        self.script = list(script)
        self.stages = {k: list(v) for k, v in (stages or {}).items()}
        self.requests: list[dict] = []        # mapping-model requests, in order
        self.stage_requests: list[dict] = []  # router / dates requests
        self._lock = threading.Lock()
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server naming
                length = int(self.headers.get("content-length", 0))
                req = json.loads(self.rfile.read(length) or b"{}")
                item = server._next(req)
                while isinstance(item, Delay):
                    if server._closing.wait(item.seconds):
                        return
                    item = item.item
                if isinstance(item, Raw):
                    status, data = item.status, item.body
                else:
                    status, data = item[0], json.dumps(item[1]).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _next(self, req: dict) -> Any:
        forced = (req.get("tool_choice") or {}).get("name")
        with self._lock:
            if forced is not None:  # a stage with nothing scripted answers 500, never a mapping reply
                self.stage_requests.append(req)
                queue = self.stages.setdefault(forced, [])
            else:
                self.requests.append(req)
                queue = self.script
            return queue.pop(0) if queue else EXHAUSTED

    def __enter__(self) -> "ScriptedMessagesServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def message(content: list[dict], stop_reason: str = "tool_use", in_tok: int = 1200, out_tok: int = 80,
            model: str = "claude-sonnet-4-6") -> tuple[int, dict]:
    return 200, {"id": "msg_x", "type": "message", "role": "assistant", "model": model,
                 "content": content, "stop_reason": stop_reason, "stop_sequence": None,
                 "usage": {"input_tokens": in_tok, "output_tokens": out_tok, "cache_read_input_tokens": 1000,
                           "cache_creation_input_tokens": 0}}


def tool_use(name: str, args: dict, tid: str, text: str = "", in_tok: int = 1200, out_tok: int = 80) -> tuple[int, dict]:
    content = ([{"type": "text", "text": text}] if text else []) + [{"type": "tool_use", "id": tid, "name": name, "input": args}]
    return message(content, "tool_use", in_tok, out_tok)


def tool_uses(*calls: tuple[str, dict, str], text: str = "") -> tuple[int, dict]:
    """One reply with several tool_use blocks (parallel tool calls), in order."""
    content = ([{"type": "text", "text": text}] if text else []) + [
        {"type": "tool_use", "id": tid, "name": name, "input": args} for name, args, tid in calls]
    return message(content, "tool_use")


def text_reply(text: str, stop_reason: str = "end_turn") -> tuple[int, dict]:
    return message([{"type": "text", "text": text}] if text else [], stop_reason)


def stage_reply(name: str, args: dict, model: str = "claude-haiku-4-5") -> tuple[int, dict]:
    """A forced-tool reply of the router or dates stage."""
    return message([{"type": "tool_use", "id": f"s_{name}", "name": name, "input": args}], "tool_use", 300, 20, model)


def error(status: int, kind: str, msg: str = "scripted") -> tuple[int, dict]:
    return status, {"type": "error", "error": {"type": kind, "message": msg}}


def overloaded() -> tuple[int, dict]:
    return error(529, "overloaded_error", "Overloaded")
