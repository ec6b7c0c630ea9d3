"""Translation helpers for text produced outside a request: CLI output, job failures, lazy help texts.

* ``environment_locale`` picks the CLI's language: ``COACHDESK_LOCALE``, else the POSIX
  ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG`` (``de_DE.UTF-8`` -> ``de``), else the default.
* ``LazyMessage`` (marked with ``_l`` like ``lazy_gettext``) keeps its msgid and parameters, so
  a job can store the English text for logs and the console can show it later in the reader's
  language (``app.services.jobs.failure_message``).
* ``N_`` marks a constant for extraction without translating it (translate it where it is shown).
* ``TranslatedOption`` keeps a click option's lazy help lazy (click cleans help text at import).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import click

LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def N_(msgid: str) -> str:  # noqa: N802 (the conventional gettext marker name)
    """Mark ``msgid`` for extraction; it stays English until shown through ``gettext``."""
    return msgid


def _language(value: str | None) -> str:
    """``de_DE.UTF-8`` / ``de-AT`` / ``es@euro`` -> ``de`` / ``de`` / ``es``; ``C`` / ``POSIX`` -> ``c`` / ``posix``."""
    if not value:
        return ""
    for sep in (".", "@"):
        value = value.split(sep, 1)[0]
    return value.replace("-", "_").split("_", 1)[0].strip().lower()


def environment_locale(
    languages: Iterable[str], default: str, environ: Mapping[str, str] | None = None, *, posix: bool = True
) -> str:
    """The language the process environment asks for, if the console ships it.

    ``COACHDESK_LOCALE`` wins when it names a shipped language. Otherwise (when ``posix``) the
    first set of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` decides, as POSIX tools do; a language
    the console does not ship (``fr_FR``, ``C``) means the default.
    """
    env = os.environ if environ is None else environ
    shipped = set(languages)
    explicit = _language(env.get("COACHDESK_LOCALE"))
    if explicit in shipped:
        return explicit
    if posix:
        for name in LOCALE_VARIABLES:
            if env.get(name):
                chosen = _language(env[name])
                return chosen if chosen in shipped else default
    return default


class LazyMessage:
    """A translatable message with its parameters, translated each time it is turned into text.

    ``str()`` renders it in the current locale (like ``lazy_gettext``); ``source`` is the English
    text; ``as_json``/``from_json`` carry it through a JSON column.
    """

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid = msgid
        self.params = params

    @property
    def source(self) -> str:
        return self.msgid % self.params if self.params else self.msgid

    def __str__(self) -> str:
        from flask_babel import gettext

        return gettext(self.msgid, **self.params)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))

    def __repr__(self) -> str:
        return f"LazyMessage({self.source!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyMessage):
            return (self.msgid, self.params) == (other.msgid, other.params)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.msgid, tuple(sorted(self.params))))

    def as_json(self) -> dict[str, Any]:
        """Parameters as JSON scalars (ids and UUIDs become text; ``%(x)s`` renders them the same)."""
        params = {
            k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in self.params.items()
        }
        return {"msgid": self.msgid, "params": params}

    @classmethod
    def from_json(cls, data: Any) -> LazyMessage | None:
        """The message stored by ``as_json``, or None when ``data`` is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("msgid"), str):
            return None
        params = data.get("params") or {}
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            return None
        return cls(data["msgid"], **params)


class SourceText(str):
    """English text (a plain ``str``) that remembers the message it was rendered from.

    For code that must hand out ``str`` but may run in a job: a job stores the text, and the
    message lets the console translate it later (``LazyMessage.of``).
    """

    message: LazyMessage

    def __new__(cls, message: LazyMessage) -> SourceText:
        text = super().__new__(cls, message.source)
        text.message = message
        return text


def process_locale(config: Mapping[str, Any]) -> str:
    """The language outside a request: ``COACHDESK_LOCALE``, then LC_ALL/LC_MESSAGES/LANG, then the default.

    ``LOCALE_FROM_ENVIRONMENT = False`` (the test settings) ignores the environment, so output
    does not depend on the shell it runs in.
    """
    default = config["BABEL_DEFAULT_LOCALE"]
    if not config.get("LOCALE_FROM_ENVIRONMENT", True):
        return default
    return environment_locale(config["LANGUAGES"], default)


def message_of(value: Any) -> LazyMessage | None:
    """The translatable message behind ``value`` (a ``LazyMessage`` or a ``SourceText``), if any."""
    if isinstance(value, LazyMessage):
        return value
    return value.message if isinstance(value, SourceText) else None


def _l(msgid: str, **params: Any) -> LazyMessage:
    """``lazy_gettext`` that keeps its msgid and parameters (for exceptions raised inside jobs)."""
    return LazyMessage(msgid, **params)


class TranslatedOption(click.Option):
    """A click option whose ``help`` may be a lazy string: translated each time help is shown.

    click runs ``inspect.cleandoc`` on option help when the option is declared, which would
    freeze a lazy string in whatever language is active at import time.
    """

    def __init__(self, *args: Any, help: Any = None, **kwargs: Any) -> None:  # noqa: A002 (click's name)
        super().__init__(*args, **kwargs)
        self._lazy_help = help

    @property  # type: ignore[override]
    def help(self) -> str | None:
        return None if self._lazy_help is None else str(self._lazy_help)

    @help.setter
    def help(self, value: Any) -> None:
        self._lazy_help = value


def option(*param_decls: str, **attrs: Any) -> Any:
    """``click.option`` with a translatable ``help``."""
    attrs.setdefault("cls", TranslatedOption)
    return click.option(*param_decls, **attrs)


def service_gettext(message: str, **variables: Any) -> str:
    """gettext for services that also run in jobs and shells: in a request, the reader's language;
    outside one, English text that keeps its message, so a failed job's error can be shown
    translated later (``jobs.failure_message``)."""
    from flask import has_request_context
    from flask_babel import gettext

    if has_request_context():
        return gettext(message, **variables)
    return SourceText(LazyMessage(message, **variables))
