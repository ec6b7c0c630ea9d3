"""Recurring series: the occurrences of a weekly rule, computed with python-dateutil's rrule.

The rule is expanded on the *wall clock* of the series' zone and only then turned into UTC, so a
class at 18:00 Europe/Madrid stays at 18:00 in Madrid across a daylight-saving change (its UTC
time moves by an hour). A rule that would make more than ``MAX_OCCURRENCES`` sessions is refused
before anything is written: a typo in "until" must not fill the calendar with 10,000 rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil import rrule

from app.i18n import service_gettext as _
from app.services.scheduling.errors import SchedulingError
from app.services.timezones import is_valid_zone

MAX_OCCURRENCES = 200
MAX_INTERVAL = 52
# Dates the calendar accepts at all (also used by the session service).
MIN_YEAR = 2000
MAX_YEAR = 2100

_DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Repeat:
    """Weekly on ``weekdays`` (0 = Monday), every ``interval`` weeks, ``count`` times or ``until`` a date."""

    weekdays: tuple[int, ...]
    count: int | None
    until: dt.date | None
    interval: int = 1


def validate(repeat: Repeat) -> None:
    """Refuse a rule that cannot be expanded (SchedulingError naming the field)."""
    if not repeat.weekdays:
        raise SchedulingError(_("Choose at least one weekday for the series."), field="weekdays")
    if any(not isinstance(d, int) or not 0 <= d <= 6 for d in repeat.weekdays):
        raise SchedulingError(_("Weekdays must be between Monday and Sunday."), field="weekdays")
    if (repeat.count is None) == (repeat.until is None):
        raise SchedulingError(
            _("End the series either after a number of sessions or on a date, not both."), field="count"
        )
    if not isinstance(repeat.interval, int) or not 1 <= repeat.interval <= MAX_INTERVAL:
        raise SchedulingError(
            _("Repeat every 1 to %(max)s weeks.", max=MAX_INTERVAL),
            field="interval",
        )
    if repeat.count is not None and not 1 <= repeat.count <= MAX_OCCURRENCES:
        raise SchedulingError(
            _(
                "A series holds at most %(max)s sessions; %(count)s were asked for.",
                max=MAX_OCCURRENCES,
                count=repeat.count,
            ),
            field="count",
        )
    if repeat.until is not None and not MIN_YEAR <= repeat.until.year <= MAX_YEAR:
        raise SchedulingError(_("The series must end between %(a)s and %(b)s.", a=MIN_YEAR, b=MAX_YEAR), field="until")


def _rule(first_start_local: dt.datetime, repeat: Repeat) -> rrule.rrule:
    until = None
    if repeat.until is not None:
        # Inclusive: an occurrence on the "until" day itself belongs to the series.
        until = dt.datetime.combine(repeat.until, dt.time.max)
    return rrule.rrule(
        rrule.WEEKLY,
        dtstart=first_start_local,
        interval=repeat.interval,
        byweekday=sorted(set(repeat.weekdays)),
        count=repeat.count,
        until=until,
        wkst=rrule.MO,
    )


def occurrences(first_start_local: dt.datetime, zone: str, repeat: Repeat) -> list[dt.datetime]:
    """The series' start times as aware UTC datetimes, each at the same wall-clock time in ``zone``.

    ``first_start_local`` is naive wall-clock time in ``zone``. A wall time that does not exist on
    a spring-forward day moves forward by the gap (as a clock would); an ambiguous one takes its
    first (summer-time) reading.
    """
    if not is_valid_zone(zone):
        raise SchedulingError(_("Unknown time zone “%(zone)s”.", zone=str(zone)[:64]), field="timezone")
    if first_start_local.tzinfo is not None:
        first_start_local = first_start_local.replace(tzinfo=None)
    validate(repeat)
    if not MIN_YEAR <= first_start_local.year <= MAX_YEAR:
        raise SchedulingError(_("Dates must lie between %(a)s and %(b)s.", a=MIN_YEAR, b=MAX_YEAR), field="start")
    if repeat.until is not None and repeat.until < first_start_local.date():
        raise SchedulingError(_("The series cannot end before its first session."), field="until")
    local_starts = list(itertools.islice(_rule(first_start_local, repeat), MAX_OCCURRENCES + 1))
    if len(local_starts) > MAX_OCCURRENCES:
        raise SchedulingError(
            _("This series would make more than %(max)s sessions: end it sooner.", max=MAX_OCCURRENCES),
            field="until",
        )
    if not local_starts:
        raise SchedulingError(_("This series has no session: check its weekdays and end date."), field="weekdays")
    tz = ZoneInfo(zone)
    return [to_utc(local, tz) for local in local_starts]


def to_utc(local: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Naive wall time in ``tz`` to aware UTC (gaps move forward, ambiguous times take fold 0)."""
    return local.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)


def rrule_text(repeat: Repeat, *, zone: str | None = None) -> str:
    """The RFC 5545 RRULE for ``repeat`` (stored on ``SessionSeries.rrule``), e.g. FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10.

    UNTIL is written as UTC (RFC 5545 requires it when DTSTART carries a TZID): the end of the
    "until" day in ``zone`` (UTC when no zone is given).
    """
    parts = ["FREQ=WEEKLY"]
    if repeat.interval != 1:
        parts.append(f"INTERVAL={repeat.interval}")
    parts.append("BYDAY=" + ",".join(_DAY_CODES[d] for d in sorted(set(repeat.weekdays))))
    if repeat.count is not None:
        parts.append(f"COUNT={repeat.count}")
    if repeat.until is not None:
        tz = ZoneInfo(zone) if zone and is_valid_zone(zone) else dt.UTC
        end = to_utc(dt.datetime.combine(repeat.until, dt.time(23, 59, 59)), tz)
        parts.append("UNTIL=" + end.strftime("%Y%m%dT%H%M%SZ"))
    return ";".join(parts)


def remaining_rule(rule: str, *, count: int | None) -> str:
    """``rule`` with COUNT replaced by ``count`` (a series split keeps its rule for the part it keeps)."""
    parts = [p for p in rule.split(";") if p and not p.startswith("COUNT=")]
    if count is not None and not any(p.startswith("UNTIL=") for p in parts):
        parts.append(f"COUNT={count}")
    return ";".join(parts)
