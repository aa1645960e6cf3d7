"""The offices' calendar: days are China Standard Time at the desk, moments are stored as UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

CHINA_STANDARD_TIME = timezone(timedelta(hours=8))  # the offices' wall clock, for "slots on this date"


def utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime as now")
    return now.astimezone(UTC)  # SQLite stores the wall clock only, so always store UTC


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC interval of a calendar day at the offices (China Standard Time)."""
    start = datetime.combine(day, time(0), CHINA_STANDARD_TIME)
    return utc(start), utc(start + timedelta(days=1))
