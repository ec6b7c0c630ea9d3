"""Channel backends: how one composed delivery leaves the building (email, push, in-app, SMS).

A backend is opened once per delivery batch and closed after it, so email reuses one SMTP
connection for the whole batch. ``send`` returns an ``Outcome`` (sent or skipped with a reason) or
raises ``TransientError`` (try again later) or ``PermanentError`` (give up now). Errors carry a
short text safe to store in ``message_deliveries.last_error``: no password, no server banner dump.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import re
import smtplib
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any, Protocol

from app.models.engagement import Channel

log = logging.getLogger(__name__)
ERROR_LENGTH = 200
# What goes into RCPT TO and the To header as is: ASCII, one address, no spaces or line breaks.
ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Outgoing:
    """One delivery, composed: envelope strings already in the recipient's language."""

    delivery_id: int
    channel: Channel
    recipient_id: uuid.UUID
    address: str | None
    locale: str
    subject: str
    body: str


@dataclass(frozen=True)
class Outcome:
    sent: bool
    reason: str | None = None  # why it was skipped

    @classmethod
    def skipped(cls, reason: str) -> Outcome:
        return cls(False, reason[:ERROR_LENGTH])


SENT = Outcome(True)


class DeliveryError(Exception):
    """A send that did not happen; ``str(exc)`` is short and free of secrets."""


class TransientError(DeliveryError):
    """Worth another try later (server down, connection refused, 4xx)."""


class PermanentError(DeliveryError):
    """Never going to work for this delivery (the server refused the recipient with a 5xx)."""


class ChannelBackend(Protocol):
    channel: Channel

    def open(self) -> None: ...

    def send(self, item: Outgoing) -> Outcome: ...

    def close(self) -> None: ...


class InAppBackend:
    """In-app: the message or announcement is already stored where the app reads it; nothing to send."""

    channel = Channel.INAPP

    def open(self) -> None:
        pass

    def send(self, item: Outgoing) -> Outcome:
        return SENT

    def close(self) -> None:
        pass


class LoggingPushBackend:
    """Push, as a stub: logs the recipient's id and the title only (no address, no body)."""

    channel = Channel.PUSH

    def open(self) -> None:
        pass

    def send(self, item: Outgoing) -> Outcome:
        log.info("push to user %s: %s", item.recipient_id, item.subject)
        return SENT

    def close(self) -> None:
        pass


class UnconfiguredSmsBackend:
    """SMS: no provider is configured, so every SMS delivery is skipped with that reason."""

    channel = Channel.SMS

    def open(self) -> None:
        pass

    def send(self, item: Outgoing) -> Outcome:
        return Outcome.skipped("SMS is not configured")

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class SmtpSettings:
    server: str | None
    port: int
    use_tls: bool
    username: str | None
    password: str | None = None
    sender: str = "Coachdesk <no-reply@coachdesk.localhost>"
    timeout: float = 10.0

    def __repr__(self) -> str:  # never show the password, even in a traceback's locals
        return f"SmtpSettings(server={self.server!r}, port={self.port}, tls={self.use_tls}, user={self.username!r})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings:
        return cls(
            server=config.get("MAIL_SERVER"),
            port=int(config.get("MAIL_PORT") or 25),
            use_tls=bool(config.get("MAIL_USE_TLS")),
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
            sender=config.get("MAIL_FROM") or cls.sender,
            timeout=float(config.get("MAIL_TIMEOUT") or 10.0),
        )


_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")
NO_MAIL_SERVER = "email is not configured (MAIL_SERVER is not set)"


def safe_error(exc: BaseException, secret: str | None = None) -> str:
    """A short description of ``exc`` for ``last_error`` and logs, with ``secret`` blanked out."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, reply = next(iter(exc.recipients.values()))
        text = f"recipient refused: {code} {_decode(reply)}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"{type(exc).__name__}: {exc.smtp_code} {_decode(exc.smtp_error)}"
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{type(exc).__name__}: {exc.strerror}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    if secret:
        text = text.replace(secret, "***")
    # A server's reply may quote the recipient's address: never stored (last_error holds no personal data).
    return _ADDRESS.sub("<address>", text)[:ERROR_LENGTH]


def _decode(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _permanent(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


class SmtpBackend:
    """Email through the configured SMTP server, one connection per batch (opened on the first mail).

    A connection that fails is dropped; the next mail connects again once. When connecting itself
    fails, the rest of the batch fails fast with the same error instead of knocking again per mail.
    """

    channel = Channel.EMAIL

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._unreachable: str | None = None
        self._envelope_from = email.utils.parseaddr(settings.sender)[1]
        self._domain = self._envelope_from.rpartition("@")[2] or "coachdesk.localhost"
        self._templates: dict[tuple[str, str, str], bytes] = {}
        self._date: tuple[int, bytes] = (0, b"")
        self.connections = 0

    def open(self) -> None:
        self._unreachable = None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        if self._unreachable:
            raise TransientError(self._unreachable)
        try:
            smtp = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
            try:
                if settings.use_tls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username:
                    smtp.login(settings.username, settings.password or "")
                smtp.ehlo_or_helo_if_needed()  # the server's extensions (PIPELINING) before the first mail
            except BaseException:
                smtp.close()
                raise
        except (OSError, smtplib.SMTPException) as exc:
            self._unreachable = safe_error(exc, settings.password)
            log.warning("SMTP server %s:%s unreachable: %s", settings.server, settings.port, self._unreachable)
            raise TransientError(self._unreachable) from None
        self.connections += 1
        return smtp

    def message(self, item: Outgoing) -> bytes:
        """The mail as bytes: the email package renders one template per (subject, body, language),
        the recipient's own headers go in front (an announcement to 100,000 is a template per language)."""
        key = (item.subject, item.body, item.locale)
        template = self._templates.get(key)
        if template is None:
            msg = EmailMessage(policy=SMTP_POLICY)
            msg["From"] = self.settings.sender
            msg["Subject"] = item.subject
            msg.set_content(item.body)
            msg["Content-Language"] = item.locale  # after set_content, which drops Content-* headers
            template = msg.as_bytes()
            if len(self._templates) > 64:
                self._templates.clear()
            self._templates[key] = template
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, email.utils.formatdate(now).encode())
        own = b"To: %s\r\nDate: %s\r\nMessage-ID: <delivery-%d.%s@%s>\r\n" % (
            (item.address or "").encode("ascii"), self._date[1], item.delivery_id, uuid.uuid4().hex[:12].encode(),
            self._domain.encode("ascii", "replace"),
        )  # fmt: skip
        return own + template

    def send(self, item: Outgoing) -> Outcome:
        if not item.address:
            return Outcome.skipped("no email address")
        if not ADDRESS.match(item.address):
            return Outcome.skipped("not a deliverable email address")
        if not self.settings.server:  # nothing to retry: no server will appear until someone configures one
            return Outcome.skipped(NO_MAIL_SERVER)
        if self._smtp is None:
            self._smtp = self._connect()
        message = self.message(item)
        try:
            self._transaction(self._smtp, item.address, message)
        except (OSError, smtplib.SMTPException) as exc:
            text = safe_error(exc, self.settings.password)
            if _permanent(exc):
                raise PermanentError(text) from None
            if not isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException):
                self._drop()  # the connection is in doubt: the next mail connects afresh
            raise TransientError(text) from None
        return SENT

    def _transaction(self, smtp: smtplib.SMTP, to: str, message: bytes) -> None:
        """One mail. With PIPELINING (RFC 2920) MAIL, RCPT and DATA go in one write and their replies are
        read in order: two round trips a mail instead of four. Refusals raise what ``sendmail`` raises."""
        if not smtp.has_extn("pipelining"):
            smtp.sendmail(self._envelope_from, [to], message)
            return
        smtp.send(f"MAIL FROM:<{self._envelope_from}>\r\nRCPT TO:<{to}>\r\nDATA\r\n")
        mail, rcpt, data = smtp.getreply(), smtp.getreply(), smtp.getreply()
        if data[0] == 354 and (mail[0] != 250 or rcpt[0] not in (250, 251)):
            smtp.send(b".\r\n")  # a server that said go ahead regardless: end the empty mail
            smtp.getreply()
        if mail[0] != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], self._envelope_from)
        if rcpt[0] not in (250, 251):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused({to: rcpt})
        if data[0] != 354:
            smtp.rset()
            raise smtplib.SMTPDataError(*data)
        body = smtplib._quote_periods(message)  # noqa: SLF001 (the dot-stuffing sendmail itself uses)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        smtp.send(body + b".\r\n")
        code, reply = smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def backends_for(config: Mapping[str, Any]) -> dict[Channel, ChannelBackend]:
    """The backend of every channel, for one batch."""
    return {
        Channel.EMAIL: SmtpBackend(SmtpSettings.from_config(config)),
        Channel.PUSH: LoggingPushBackend(),
        Channel.INAPP: InAppBackend(),
        Channel.SMS: UnconfiguredSmsBackend(),
    }
