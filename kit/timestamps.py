"""Times with their zone, read by one rule wherever the kit reads one: a submission's
timestamp.txt (`kit collect` comparing with the one it replaces, late work deciding
lateness), `kit collect --time` and the configured due date (`c.KitGrading.duedate`).

nbgrader reads timestamp.txt itself (`nbgrader.utils.parse_utc`, from the gradebook and
`nbgrader autograde`), so the kit must read a time to the same instant or not at all. The
rule: nbgrader's reading (three words "DATE TIME ZONE": ZONE a zone name looked up with
dateutil; anything else: dateutil's parser), kept only when it names its zone as meant.
Refused (ValueError), where nbgrader would guess or misread:
- no zone at all ("2026-12-01 17:00"): it would have to be guessed;
- a zone name dateutil does not know ("Mars/Olympus", "utc"; nbgrader takes it as UTC);
- a numeric zone after a space ("... 17:00 +0100"): nbgrader reads +0100 as 100 seconds
  (nbgrader 0.9.6) and "+01:00" as no zone; the offset written into the time
  ("2026-12-01T17:00+01:00") is read right by both.
dateutil only: importing nbgrader takes seconds, which `kit collect` does not spend.
"""
import datetime
import warnings

import dateutil.parser
import dateutil.tz

MAX_CHARS = 100   # a timestamp.txt is one short line; anything longer is not one


def parse_utc_time(text) -> datetime.datetime:
    """A time with its zone as naive UTC, the instant nbgrader's parse_utc reads in it.

    Inputs: text (surrounding whitespace ignored). Returns a naive datetime in UTC.
    Raises ValueError, saying why, when the rule above refuses it.
    """
    text = str(text).strip()
    if len(text) > MAX_CHARS:
        raise ValueError(f"longer than {MAX_CHARS} characters")
    parts = text.split(" ")
    with warnings.catch_warnings():   # dateutil warns of a zone name it does not know
        warnings.simplefilter("ignore")
        try:
            if len(parts) == 3:
                when = dateutil.parser.parse(" ".join(parts[:2] + ["TZ"]),
                                             tzinfos={"TZ": _named_zone(parts[2])})
            else:
                when = dateutil.parser.parse(text)
        except OverflowError as err:
            raise ValueError(str(err)) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("no time zone")
    return (when - when.utcoffset()).replace(tzinfo=None)


def _named_zone(name):
    if not name[:1].isalpha():
        raise ValueError(f"a zone written {name!r} after a space is misread by nbgrader; "
                         f"write the offset into the time, such as '2026-12-01T17:00+01:00'")
    zone = dateutil.tz.gettz(name)
    if zone is None:
        raise ValueError(f"unknown time zone {name!r}")
    return zone
