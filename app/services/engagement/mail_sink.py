"""A local debugging SMTP server that keeps what it receives, so the embedded default shows delivered mail.

``MailSink`` runs an aiosmtpd ``Controller`` (its own thread and event loop) on 127.0.0.1 and writes
each mail as ``<ns>-<seq>.eml`` under a directory, keeping only the newest ``keep``. The console's
"Delivered mail" page reads them back with ``list_mails`` and ``read_mail``. Nothing here relays:
the sink accepts every recipient and sends nothing on.

``python -m app.services.engagement.mail_sink DIR PORT`` runs one in the foreground (the benchmark
runs the sink in its own process, as a real mail server would be).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.parser
import email.policy
import email.utils
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NAME = re.compile(r"^\d{19}-\d{6,}\.eml$")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the Controller needs a number before it starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _Store:
    """aiosmtpd handler: one file per mail, the oldest removed beyond ``keep``."""

    def __init__(self, directory: Path, keep: int) -> None:
        self.directory = directory
        self.keep = max(1, keep)
        self.received = 0
        self._date: tuple[int, str] = (0, "")
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        self._files = sorted(p.name for p in directory.iterdir() if NAME.match(p.name))

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:  # noqa: N802, E501
        """Advertise PIPELINING (RFC 2920): aiosmtpd reads commands in order from one buffer, so it holds."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "replace")
        rcpts = ", ".join(envelope.rcpt_tos)
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, email.utils.formatdate(now))
        head = f"X-Sink-Recipients: {rcpts}\r\nX-Sink-Received: {self._date[1]}\r\n".encode()
        with self._lock:
            self.received += 1
            name = f"{time.time_ns():019d}-{self.received:06d}.eml"
            tmp = self.directory / f".{name}.part"
            tmp.write_bytes(head + content)
            os.replace(tmp, self.directory / name)
            self._files.append(name)
            while len(self._files) > self.keep:
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / self._files.pop(0)).unlink()
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on ``host``:``port`` (a free one if not given) storing mails under ``directory``."""

    def __init__(
        self, directory: Path, *, keep: int = 500, host: str = "127.0.0.1", port: int | None = None, **smtp: Any
    ) -> None:
        from aiosmtpd.controller import Controller

        # aiosmtpd logs every command at INFO, addresses included: the sink's own lines are enough.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.store = _Store(Path(directory), keep)
        self.host = host
        self.port = port or free_port(host)
        self._controller = Controller(self.store, hostname=host, port=self.port, **smtp)
        self._running = False

    @property
    def received(self) -> int:
        return self.store.received

    def start(self) -> MailSink:
        self._controller.start()
        self._running = True
        log.info("mail sink listening on %s:%s, keeping mail in %s", self.host, self.port, self.store.directory)
        return self

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class MailSummary:
    name: str
    to: str
    subject: str
    received_at: dt.datetime


@dataclass(frozen=True)
class MailView:
    name: str
    to: str
    sender: str
    subject: str
    received_at: dt.datetime
    language: str
    body: str


def _received_at(name: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(name.split("-", 1)[0]) / 1e9, dt.UTC)


def list_mails(directory: Path, limit: int = 200) -> list[MailSummary]:
    """The newest ``limit`` stored mails, newest first (headers only)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    names = sorted((p.name for p in directory.iterdir() if NAME.match(p.name)), reverse=True)[:limit]
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    mails = []
    for name in names:
        try:
            with (directory / name).open("rb") as fh:
                headers = parser.parse(fh)
        except FileNotFoundError:  # pruned meanwhile
            continue
        mails.append(MailSummary(name, str(headers.get("To", "")), str(headers.get("Subject", "")), _received_at(name)))
    return mails


def read_mail(directory: Path, name: str) -> MailView | None:
    """One stored mail as text, or None (unknown or malformed name: never a path outside ``directory``)."""
    if not NAME.match(name):
        return None
    path = Path(directory) / name
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain", "html")) if msg.is_multipart() else msg
    try:
        body = part.get_content() if part is not None else ""
    except (LookupError, ValueError):
        body = raw.decode("utf-8", "replace")
    return MailView(
        name=name,
        to=str(msg.get("To", "")),
        sender=str(msg.get("From", "")),
        subject=str(msg.get("Subject", "")),
        received_at=_received_at(name),
        language=str(msg.get("Content-Language", "")),
        body=str(body),
    )


def _main(argv: list[str]) -> int:
    import signal

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    directory, port = Path(argv[0]), int(argv[1])
    keep = int(argv[2]) if len(argv) > 2 else 500
    signal.signal(signal.SIGTERM, stop)
    sink = MailSink(directory, keep=keep, port=port).start()
    print(f"ready {sink.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()
        print(f"received {sink.received}", flush=True)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
