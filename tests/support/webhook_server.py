"""A real HTTP server on 127.0.0.1 that records webhook deliveries and answers as a test tells it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Receiver:
    url: str
    host: str
    # Status codes to answer, in order; the last one repeats. ("slow", seconds) sleeps first.
    replies: list[Any] = field(default_factory=lambda: [200])
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def next_reply(self) -> Any:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.deliveries.append(
                {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "json": json.loads(body)}
            )
            reply = receiver.next_reply()
            if isinstance(reply, tuple):
                time.sleep(reply[1])
                reply = 200
            self.send_response(reply)
            if reply in (301, 302):
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    receiver = Receiver(url=f"http://127.0.0.1:{port}/hook", host="127.0.0.1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
