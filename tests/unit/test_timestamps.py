"""One rule for a time with its zone (kit/timestamps.py): `kit collect` (the timestamp.txt it
replaces, its --time) and late work (a submission's timestamp.txt, the due date) accept and
refuse the same texts, and what they accept is the instant nbgrader reads in it."""
import datetime

import pytest
from nbgrader.utils import parse_utc

from kit import collect, late
from kit.timestamps import parse_utc_time

READABLE = ["2026-11-22 16:53:00.000000 UTC", "2026-11-22 17:53:00 CET",
            "2026-11-22 11:53:00.25 America/New_York", "2026-11-22T17:53:00.5+01:00",
            "2026-11-22T16:53:00Z", "2026-11-22 16:53:00Z", "2026-11-22 16:53:00 UTC+1",
            "Mon Nov 22 16:53:00 UTC 2026", "2026-11-22  16:53:00   UTC", " 2026-11-22 16:53 EST\n"]
REFUSED = ["2026-11-22 16:53:00",              # no zone: it would be guessed
           "2026-11-22 16:53:00 +0100",        # nbgrader reads +0100 as 100 seconds
           "2026-11-22 16:53:00 +01:00",       # ... and this as no zone
           "2026-11-22 16:53:00 Z", "2026-11-22 16:53 Mars/Olympus", "2026-11-22 16:53:00 utc",
           "2026-11-22  16:53:00  CET",        # CET unread by dateutil's parser alone
           "Nov 22 2026", "yesterday", "", "2026-11-22 16:53:00 UTC" + " x" * 50]


def through_collect(tmp_path, text):
    (tmp_path / "timestamp.txt").write_text(text)
    return collect._read_timestamp(tmp_path / "timestamp.txt")


def through_arrival(text):
    try:
        return collect.parse_arrival(text).replace(tzinfo=None)
    except collect.CollectError:
        return None


def through_late(tmp_path, text):
    (tmp_path / "timestamp.txt").write_text(text)
    stamp, problem = late.read_timestamp(tmp_path)
    assert (stamp is None) == (problem is not None)
    return None if stamp is None else parse_utc(stamp)   # as the gradebook stores it


def through_duedate(tmp_path, text):
    (tmp_path / "nbgrader_config.py").write_text(f"c = get_config()\nc.KitGrading.duedate = {text!r}\n")
    try:
        return late.configured_duedate(tmp_path)
    except late.KitError:
        return None


@pytest.mark.parametrize("text", READABLE)
def test_collect_and_late_read_the_same_instant_as_nbgrader(tmp_path, text):
    expected = parse_utc(text.strip())
    assert parse_utc_time(text) == expected
    assert through_collect(tmp_path, text) == expected
    assert through_arrival(text) == expected
    assert through_late(tmp_path, text) == expected
    if text.strip():
        assert through_duedate(tmp_path, text) == expected


@pytest.mark.parametrize("text", REFUSED)
def test_collect_and_late_refuse_the_same_texts(tmp_path, text):
    with pytest.raises(ValueError):
        parse_utc_time(text)
    assert through_collect(tmp_path, text) is None
    assert through_arrival(text) is None
    assert through_late(tmp_path, text) is None
    if text.strip():
        assert through_duedate(tmp_path, text) is None


def test_what_collect_writes_is_read_back():
    when = datetime.datetime(2026, 11, 22, 16, 53, 0, 250000, tzinfo=datetime.timezone.utc)
    from kit.collect_write import TIMESTAMP_FORMAT
    assert parse_utc_time(when.strftime(TIMESTAMP_FORMAT)) == when.replace(tzinfo=None)
