"""`jobs.dst`: fold instants and the next offset change, in real zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from jobs.dst import fold_index, next_offset_change

NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def test_a_repeated_wall_time_has_two_folds() -> None:
    """01:30 on New York's fall-back night happens twice: EDT, then EST."""
    first = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)
    assert fold_index(first) == 0
    assert fold_index(first.replace(fold=1)) == 1


def test_ordinary_and_skipped_wall_times_are_not_folds() -> None:
    """A normal hour and a spring-forward gap are not repeats."""
    assert fold_index(datetime(2026, 11, 2, 1, 30, tzinfo=NEW_YORK)) is None
    assert fold_index(datetime(2027, 3, 14, 2, 30, tzinfo=NEW_YORK)) is None


def test_new_yorks_next_change_is_spring_forward_at_0700_utc() -> None:
    """2027-03-14 02:00 EST becomes 03:00 EDT: 07:00 UTC, clocks +1 h."""
    change = next_offset_change(NEW_YORK, datetime(2026, 12, 3, tzinfo=UTC))
    assert change is not None
    assert change.at == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)
    assert change.shift == timedelta(hours=1)


def test_lord_howe_changes_by_half_an_hour() -> None:
    """Lord Howe's DST moves the clocks by 30 minutes (2027-04-04, back)."""
    change = next_offset_change(LORD_HOWE, datetime(2026, 12, 3, tzinfo=UTC))
    assert change is not None
    assert change.at == datetime(2027, 4, 3, 15, 0, tzinfo=UTC)
    assert change.shift == timedelta(minutes=-30)


def test_a_zone_without_dst_has_no_change() -> None:
    """Hong Kong keeps +08:00."""
    after = datetime(2026, 12, 3, tzinfo=UTC)
    assert next_offset_change(ZoneInfo("Asia/Hong_Kong"), after) is None
