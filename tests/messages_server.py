"""A local HTTP server speaking the Messages API: it plays scripted responses and records requests."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedMessagesServer:
    """`script` items are (status, body) pairs, served in order to POST /v1/messages."""

    def __init__(self, script: list[tuple[int, dict]]) -> None:
        self.script = list(script)
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server naming
                length = int(self.headers.get("content-length", 0))
                server.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                status, body = server.script.pop(0) if server.script else (500, {"type": "error", "error": {"type": "api_error", "message": "script exhausted"}})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "ScriptedMessagesServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def tool_use(name: str, args: dict, tid: str, text: str = "", in_tok: int = 1200, out_tok: int = 80) -> tuple[int, dict]:
    content = ([{"type": "text", "text": text}] if text else []) + [{"type": "tool_use", "id": tid, "name": name, "input": args}]
    return 200, {"id": f"msg_{tid}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
                 "content": content, "stop_reason": "tool_use", "stop_sequence": None,
                 "usage": {"input_tokens": in_tok, "output_tokens": out_tok, "cache_read_input_tokens": 1000,
                           "cache_creation_input_tokens": 0}}


def overloaded() -> tuple[int, dict]:
    return 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
