"""The built-in NYSE calendar against PyPI `exchange-calendars` (XNYS), every
session 2000-2035, with UTC open and close times; and the `finlake calendar` CLI."""
import csv
import io
import subprocess

import pytest

from conftest import finlake_binary

# Days where finlake and exchange_calendars are known to differ, with the reason.
# (Empty: every session, open and close agree for 2000-2035.)
KNOWN_DIFFERENCES: dict[str, str] = {}


def finlake_sessions(first: str, last: str) -> dict[str, tuple[str, str]]:
    out = subprocess.run([str(finlake_binary()), "calendar", "XNYS", "--sessions", "--from", first, "--to", last,
                          "--format", "csv"], capture_output=True, text=True, check=True).stdout
    return {row["date"]: (row["open_utc"], row["close_utc"]) for row in csv.DictReader(io.StringIO(out))}


def test_every_session_2000_2035_matches_exchange_calendars():
    import exchange_calendars as xcals  # Installed by scripts/setup --test.
    reference = xcals.get_calendar("XNYS", start="2000-01-01", end="2035-12-31")
    theirs = {}
    for session, open_, close in zip(reference.sessions, reference.opens, reference.closes):
        theirs[session.strftime("%Y-%m-%d")] = (open_.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                close.strftime("%Y-%m-%dT%H:%M:%SZ"))
    ours = finlake_sessions("2000-01-01", "2035-12-31")
    differences = {}
    for day in sorted(set(ours) | set(theirs)):
        if ours.get(day) != theirs.get(day):
            differences[day] = f"finlake {ours.get(day)} exchange_calendars {theirs.get(day)}"
    unexplained = {d: v for d, v in differences.items() if d not in KNOWN_DIFFERENCES}
    assert unexplained == {}, f"{len(unexplained)} unexplained differences: {list(unexplained.items())[:10]}"
    assert len(ours) > 9000


def test_holidays_and_early_closes_csv():
    out = subprocess.run([str(finlake_binary()), "calendar", "XNYS", "2026", "--format", "csv"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "date,kind,close_time"
    assert "2026-07-03,closed," in out  # Independence Day on a Saturday is observed on Friday.
    assert "2026-11-27,early_close,13:00" in out
    assert "2026-12-24,early_close,13:00" in out
    assert len(out) - 1 == 12  # 10 closures and 2 early closes.


def test_unknown_exchange_is_a_clear_error():
    proc = subprocess.run([str(finlake_binary()), "calendar", "XXXX", "2026"], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "XXXX" in proc.stderr and "XNYS" in proc.stderr
