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


def test_exchange_defined_in_the_lake_config(tmp_path):
    """An exchange described under calendars: in finlake.yaml lists like a built-in one."""
    lake = tmp_path / "lake"
    subprocess.run([str(finlake_binary()), "--lake", str(lake), "init"], check=True, capture_output=True)
    (lake / "finlake.yaml").write_text(
        "calendars:\n"
        "  XLON:\n"
        "    time_zone: Europe/London\n"
        "    open: '08:00'\n"
        "    close: '16:30'\n"
        "    early_close: '12:30'\n"
        "    holidays:\n"
        "      - {name: Christmas Day, month: 12, day: 25, observance: weekend_to_monday}\n"
        "    early_closes:\n"
        "      - {name: Christmas Eve, month: 12, day: 24, weekdays: [mon, tue, wed, thu, fri]}\n")
    out = subprocess.run([str(finlake_binary()), "--lake", str(lake), "calendar", "XLON", "2027", "--format", "csv"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["date,kind,close_time", "2027-12-24,early_close,12:30", "2027-12-27,closed,"]
    sessions = subprocess.run([str(finlake_binary()), "--lake", str(lake), "calendar", "XLON", "--sessions",
                               "--from", "2027-07-01", "--to", "2027-07-01", "--format", "csv"],
                              capture_output=True, text=True, check=True).stdout.splitlines()
    assert sessions[1] == "2027-07-01,2027-07-01T07:00:00Z,2027-07-01T15:30:00Z,false"  # BST is UTC+1.
