"""kit.collect: submissions land where nbgrader looks, and bad ones change nothing.

Every refusal test compares a hash snapshot of the course folder and of the original
submission before and after, so "refused" also means "nothing was touched".
"""
import datetime
import hashlib
import json
import os
import stat
import warnings
import zipfile

import pytest

from kit import collect
from kit.__main__ import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from kit.__main__ import main as kit_main
from kit.collect import CollectError, Limits, run

NOW = datetime.datetime(2026, 11, 22, 16, 53, 0, tzinfo=datetime.timezone.utc)
LATER = NOW + datetime.timedelta(hours=1)


def notebook(text):
    """A tiny valid notebook as bytes."""
    cell = {"cell_type": "markdown", "metadata": {}, "source": text}
    nb = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb).encode()


GOOD = {
    "svm.ipynb": notebook("svm"),
    "softmax.ipynb": notebook("softmax"),
    "classifiers/__init__.py": b"",
    "classifiers/linear_svm.py": b"def svm_loss_naive(W, X, y, reg):\n    pass\n",
    "utils/data_utils.py": b"# data\n",
}


def make_zip(path, members, prefix=""):
    """Write members {name: bytes} into a zip at path, each name prefixed by prefix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on the duplicate-name test
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(prefix + name, data)
    return path


def add_member(path, info, data=b""):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(info, data)
    return path


def make_folder(path, members):
    for name, data in members.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


def snapshot(root):
    """{relative path: sha256 or 'dir'} of everything under root (None if root is absent)."""
    if not os.path.lexists(root):
        return None
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full) or os.path.isdir(full):
                found[rel] = "dir" if os.path.isdir(full) else "link"
            else:
                with open(full, "rb") as handle:
                    found[rel] = hashlib.sha256(handle.read()).hexdigest()
    return found


def files_under(folder):
    return sorted(k for k, v in snapshot(folder).items() if v != "dir")


# A course as `kit release` leaves it, as far as collect looks: its release folder.
RELEASED_ONLY = {"release": "dir", "release/linear_classifiers": "dir"}


@pytest.fixture
def course(tmp_path):
    course = tmp_path / "course"
    (course / "release" / "linear_classifiers").mkdir(parents=True)
    return course


def dest(course, student):
    return course / "submitted" / student / "linear_classifiers"


def collect_one(path, course, **kwargs):
    kwargs.setdefault("now", NOW)
    results = run(paths=[path], course_dir=course, **kwargs)
    assert len(results) == 1
    return results[0]


# ------------------------------------------------------------------ accepted submissions

def test_good_zip_lands_where_nbgrader_looks(tmp_path, course):
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import parse_utc

    source = make_zip(tmp_path / "alice.zip", GOOD)
    result = collect_one(source, course)
    assert (result.status, result.student) == ("collected", "alice")
    folder = dest(course, "alice")
    assert result.destination == str(folder)
    assert files_under(folder) == sorted(list(GOOD) + ["timestamp.txt"])
    copied = (folder / "classifiers" / "linear_svm.py").read_bytes()
    assert copied == GOOD["classifiers/linear_svm.py"]
    # nbgrader's own layout and timestamp reader agree
    coursedir = CourseDirectory(root=str(course))
    assert coursedir.format_path("submitted", "alice", "linear_classifiers") == str(folder)
    text = (folder / "timestamp.txt").read_text()
    assert text == "2026-11-22 16:53:00.000000 UTC"
    assert parse_utc(text) == NOW.replace(tzinfo=None)
    assert coursedir.get_existing_timestamp(str(folder)) == NOW.replace(tzinfo=None)
    # nothing temporary left behind
    assert os.listdir(folder.parent) == ["linear_classifiers"]


def test_zip_with_top_folder_and_junk(tmp_path, course):
    source = make_zip(tmp_path / "bob_linear_classifiers.zip", GOOD, prefix="linear_classifiers/")
    add_member(source, "__MACOSX/linear_classifiers/._svm.ipynb", b"junk")
    add_member(source, "linear_classifiers/.DS_Store", b"junk")
    add_member(source, "linear_classifiers/.ipynb_checkpoints/svm-checkpoint.ipynb", b"{}")
    add_member(source, "linear_classifiers/classifiers/__pycache__/x.cpython-311.pyc", b"x")
    add_member(source, "linear_classifiers/timestamp.txt", b"1999-01-01 00:00:00 UTC")
    result = collect_one(source, course)
    assert (result.status, result.student) == ("collected", "bob")
    assert files_under(dest(course, "bob")) == sorted(list(GOOD) + ["timestamp.txt"])
    # the student's own timestamp.txt is not trusted
    assert (dest(course, "bob") / "timestamp.txt").read_text().startswith("2026-11-22")


def test_folder_input_and_missing_notebook_is_accepted(tmp_path, course):
    members = {k: v for k, v in GOOD.items() if k != "softmax.ipynb"}
    source = make_folder(tmp_path / "carol" / "my_work", members)
    before = snapshot(tmp_path / "carol")
    result = run(paths=[tmp_path / "carol"], course_dir=course, now=NOW)[0]
    assert (result.status, result.student) == ("collected", "carol")
    assert "missing softmax.ipynb" in result.message
    assert files_under(dest(course, "carol")) == sorted(list(members) + ["timestamp.txt"])
    assert snapshot(tmp_path / "carol") == before
    assert source.is_dir()


def test_student_override(tmp_path, course):
    source = make_zip(tmp_path / "submission (1).zip", GOOD)
    result = collect_one(source, course, student="dave-01")
    assert (result.status, result.student) == ("collected", "dave-01")
    assert (dest(course, "dave-01") / "svm.ipynb").is_file()


def test_recollect_replaces_and_keeps_only_new_files(tmp_path, course, capsys):
    first = make_zip(tmp_path / "alice.zip", dict(GOOD, **{"extra.txt": b"old"}))
    collect_one(first, course)
    newer = {"svm.ipynb": notebook("svm v2"), "classifiers/softmax.py": b"# v2\n"}
    (tmp_path / "v2").mkdir()
    second = make_zip(tmp_path / "v2" / "alice.zip", newer)
    capsys.readouterr()
    result = collect_one(second, course, now=LATER)
    assert result.status == "replaced"
    assert "replaced" in capsys.readouterr().out
    folder = dest(course, "alice")
    assert files_under(folder) == sorted(list(newer) + ["timestamp.txt"])
    assert (folder / "svm.ipynb").read_bytes() == newer["svm.ipynb"]
    assert collect._read_timestamp(folder / "timestamp.txt") == LATER.replace(tzinfo=None)
    assert os.listdir(folder.parent) == ["linear_classifiers"]  # backup removed


def test_batch_one_bad_one_good(tmp_path, course):
    good = make_zip(tmp_path / "erin.zip", GOOD)
    bad = make_zip(tmp_path / "frank.zip", {"../evil.py": b"x"})
    results = run(paths=[bad, good], course_dir=course, now=NOW)
    assert [r.status for r in results] == ["refused", "collected"]
    assert "../evil.py" in results[0].message and "frank.zip" in results[0].message
    assert (dest(course, "erin") / "svm.ipynb").is_file()
    assert not (course / "submitted" / "frank").exists()


def test_cli_exit_codes(tmp_path, course, capsys):
    good = make_zip(tmp_path / "gina.zip", GOOD)
    bad = tmp_path / "hank.zip"
    bad.write_bytes(b"not a zip at all")
    assert kit_main(["collect", str(good), "--course", str(course)]) == EXIT_OK
    # One refused submission: the others are collected, the exit code says so.
    assert kit_main(["collect", str(good), str(bad), "--course", str(course)]) == EXIT_FAILED
    # Arguments that cannot work together: refused before anything changes.
    assert kit_main(["collect", str(good), str(bad), "--student", "x", "--course", str(course)]) == EXIT_REFUSED
    assert "--student" in capsys.readouterr().err
    # A bad option is a usage error (argparse's 2), apart from a refused input.
    with pytest.raises(SystemExit) as usage:
        kit_main(["collect", str(good), "--no-such-option"])
    assert usage.value.code == EXIT_USAGE


# How an existing timestamp.txt is read (the same rule as late work's) is tested with
# late.read_timestamp in tests/unit/test_timestamps.py.
@pytest.mark.parametrize("text", ["2026-11-22 16:53:00.000000 UTC", "2026-11-22 17:53:00 CET",
                                  "2026-11-22 11:53:00.25 America/New_York",
                                  "2026-11-22T17:53:00.5+01:00"])
def test_existing_timestamps_read_like_nbgrader(tmp_path, text):
    from nbgrader.utils import parse_utc

    (tmp_path / "timestamp.txt").write_text(text + "\n")
    assert collect._read_timestamp(tmp_path / "timestamp.txt") == parse_utc(text)


def test_an_unreadable_earlier_time_does_not_block_a_new_submission(tmp_path, course):
    first = make_zip(tmp_path / "alice.zip", GOOD)
    collect_one(first, course, now=LATER)
    (dest(course, "alice") / "timestamp.txt").write_text("2026-11-22 16:53:00")   # no zone
    assert collect_one(first, course, now=NOW).status == "replaced"


# ------------------------------------------------------------------ refusals change nothing

def symlink_info(name):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def device_info(name):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFCHR | 0o644) << 16
    return info


def encrypted_zip(path):
    make_zip(path, GOOD)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("secret.py", b"x")
        archive.getinfo("secret.py").flag_bits |= 0x1  # central directory says "encrypted"
    return path


def write(path, data):
    path.write_bytes(data)
    return path


def corrupt_crc_zip(path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("svm.ipynb", b"A" * 1000)
    data = bytearray(path.read_bytes())
    at = data.find(b"A" * 1000)
    data[at + 10] = ord("B")  # same size, wrong CRC
    path.write_bytes(bytes(data))
    return path


BAD_ZIPS = {
    "absolute": (lambda p: make_zip(p, {"/etc/evil.py": b"x", **GOOD}), "absolute"),
    "dotdot": (lambda p: make_zip(p, {**GOOD, "../x": b"x"}), "'..'"),
    "dotdot_inside": (lambda p: make_zip(p, {**GOOD, "a/../../x": b"x"}), "'..'"),
    "backslash": (lambda p: make_zip(p, {**GOOD, "..\\x": b"x"}), "'..'"),
    "drive": (lambda p: make_zip(p, {**GOOD, "C:/x.py": b"x"}), "drive letter"),
    "symlink": (lambda p: add_member(make_zip(p, GOOD), symlink_info("classifiers/l.py"),
                                     b"/etc/passwd"), "symbolic link"),
    "device": (lambda p: add_member(make_zip(p, GOOD), device_info("dev")), "device"),
    "encrypted": (encrypted_zip, "encrypted"),
    "duplicate": (lambda p: add_member(make_zip(p, GOOD), "svm.ipynb", b"again"), "twice"),
    "file_and_folder": (lambda p: make_zip(p, {**GOOD, "classifiers": b"x"}), "both a file"),
    "not_a_zip": (lambda p: write(p, b"hello, I am a PDF"), "zip"),
    "truncated": (lambda p: write(p, make_zip(p, GOOD).read_bytes()[:300]), "zip"),
    "bad_crc": (corrupt_crc_zip, "damaged"),
    "empty": (lambda p: make_zip(p, {"__MACOSX/._x": b"x", ".DS_Store": b"x"}), "empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
def test_bad_zip_refused_and_nothing_changes(tmp_path, course, case):
    build, expected = BAD_ZIPS[case]
    make_zip(tmp_path / "old.zip", GOOD)
    collect_one(tmp_path / "old.zip", course, student="ivan")  # an earlier submission to keep
    source = build(tmp_path / "ivan.zip")
    before_course, before_source = snapshot(course), snapshot(source.parent)
    result = collect_one(source, course, now=LATER)
    assert result.status == "refused"
    assert expected in result.message
    assert "ivan.zip" in result.message
    assert snapshot(course) == before_course
    assert snapshot(source.parent) == before_source


LIMIT_CASES = {
    "member_too_big": (Limits(max_member_bytes=1000), "per file"),
    "total_too_big": (Limits(max_total_bytes=2000), "bytes"),
    "too_many_members": (Limits(max_members=3), "members"),
    "zip_bomb": (Limits(max_ratio=100, ratio_min_bytes=0), "zip bomb"),
}


@pytest.mark.parametrize("case", sorted(LIMIT_CASES))
def test_limits_refuse_and_nothing_changes(tmp_path, course, case):
    limits, expected = LIMIT_CASES[case]
    source = make_zip(tmp_path / "judy.zip", {**GOOD, "zeros.npy": bytes(200_000)})
    before_source = snapshot(tmp_path)
    result = collect_one(source, course, limits=limits)
    assert result.status == "refused"
    assert expected in result.message, result.message
    assert snapshot(course) == RELEASED_ONLY  # nothing was added to the course
    assert snapshot(tmp_path) == before_source


def test_default_limits_accept_normal_compressible_file(tmp_path, course):
    source = make_zip(tmp_path / "kim.zip", {**GOOD, "zeros.npy": bytes(200_000)})
    assert collect_one(source, course).status == "collected"


@pytest.mark.parametrize("name", [".hidden.zip", "al ice.zip", "linear_classifiers.zip",
                                  "_linear_classifiers.zip", "élodie.zip"])
def test_bad_student_id_from_name(tmp_path, course, name):
    source = make_zip(tmp_path / name, GOOD)
    before = snapshot(tmp_path)
    result = collect_one(source, course)
    assert result.status == "refused"
    assert name in result.message and "--student" in result.message
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kwargs, expected", [
    (dict(student="../x"), "--student"),
    (dict(student=".x"), "--student"),
    (dict(student="a", paths=["a.zip", "b.zip"]), "exactly one PATH"),
    (dict(paths="alice.zip"), "list of paths"),
    (dict(paths=[]), "at least one"),
    (dict(now="2026-01-01"), "datetime"),
    (dict(limits={"max_members": 3}), "Limits"),
    (dict(assignment="a+b"), "assignment"),
])
def test_bad_arguments_raise_before_anything(tmp_path, course, kwargs, expected):
    make_zip(tmp_path / "alice.zip", GOOD)
    kwargs = dict(dict(paths=[tmp_path / "alice.zip"], course_dir=course), **kwargs)
    with pytest.raises(CollectError, match=expected):
        run(**kwargs)
    assert snapshot(course) == RELEASED_ONLY


def test_course_dir_that_is_a_file(tmp_path):
    (tmp_path / "course").write_text("oops")
    with pytest.raises(CollectError, match="folder"):
        run(paths=[make_zip(tmp_path / "a.zip", GOOD)], course_dir=tmp_path / "course")


def test_folder_with_symlink_refused(tmp_path, course):
    source = make_folder(tmp_path / "leo", GOOD)
    os.symlink("/etc/passwd", source / "classifiers" / "passwd.py")
    before = snapshot(tmp_path)
    result = collect_one(source, course)
    assert result.status == "refused" and "symbolic link" in result.message
    assert "classifiers/passwd.py" in result.message
    assert snapshot(tmp_path) == before


def test_folder_size_limit(tmp_path, course):
    source = make_folder(tmp_path / "mia", {**GOOD, "big.bin": bytes(5000)})
    result = collect_one(source, course, limits=Limits(max_member_bytes=4000))
    assert result.status == "refused" and "big.bin" in result.message
    assert snapshot(course) == RELEASED_ONLY


def test_missing_path_and_empty_folder(tmp_path, course):
    (tmp_path / "nina").mkdir()
    (tmp_path / "nina" / "__pycache__").mkdir()
    results = run(paths=[tmp_path / "nobody.zip", tmp_path / "nina"], course_dir=course, now=NOW)
    assert [r.status for r in results] == ["refused", "refused"]
    assert "no such file" in results[0].message and "empty" in results[1].message
    assert snapshot(course) == RELEASED_ONLY


def test_older_submission_does_not_replace_newer(tmp_path, course):
    source = make_zip(tmp_path / "omar.zip", GOOD)
    collect_one(source, course, now=LATER)
    before = snapshot(course)
    (tmp_path / "v2").mkdir()
    result = collect_one(make_zip(tmp_path / "v2" / "omar.zip", {"svm.ipynb": b"{}"}), course,
                         now=NOW)
    assert result.status == "refused" and "newer" in result.message
    assert snapshot(course) == before


def test_same_student_twice_in_one_batch(tmp_path, course):
    make_folder(tmp_path / "pat", GOOD)
    make_zip(tmp_path / "pat.zip", GOOD)
    results = run(paths=[tmp_path / "pat", tmp_path / "pat.zip"], course_dir=course, now=NOW)
    assert [r.status for r in results] == ["refused", "refused"]
    assert snapshot(course) == RELEASED_ONLY


def test_source_inside_destination_refused(tmp_path, course):
    collect_one(make_zip(tmp_path / "quinn.zip", GOOD), course)
    inside = dest(course, "quinn")
    before = snapshot(course)
    result = collect_one(inside, course, student="quinn", now=LATER)
    assert result.status == "refused" and "overlaps" in result.message
    assert snapshot(course) == before


def test_source_inside_another_destination_refused(tmp_path, course):
    collect_one(make_zip(tmp_path / "sam.zip", GOOD), course)
    nested = make_folder(dest(course, "sam") / "tom", GOOD)  # would vanish when sam is replaced
    (tmp_path / "v2").mkdir()
    newer_sam = make_zip(tmp_path / "v2" / "sam.zip", GOOD)
    before = snapshot(course)
    results = run(paths=[newer_sam, nested], course_dir=course, now=LATER)
    assert [r.status for r in results] == ["refused", "refused"]
    assert "clashes" in results[0].message and "clashes" in results[1].message
    assert snapshot(course) == before


def test_failed_swap_restores_old_submission(tmp_path, course, monkeypatch):
    collect_one(make_zip(tmp_path / "rosa.zip", GOOD), course)
    before = snapshot(course)
    real_rename = os.rename

    def flaky_rename(src, dst):
        if ".new-" in str(src):  # moving the new submission into place fails
            raise OSError("disk full (simulated)")
        return real_rename(src, dst)

    monkeypatch.setattr(collect.os, "rename", flaky_rename)
    (tmp_path / "v2").mkdir()
    result = collect_one(make_zip(tmp_path / "v2" / "rosa.zip", {"svm.ipynb": b"{}"}), course,
                         now=LATER)
    assert result.status == "refused" and "disk full" in result.message
    assert snapshot(course) == before


# ------------------------------------------------------------------ notebook structure limits

def many_cells(count):
    """A notebook of `count` tiny cells, as nbformat writes them: a few MB, within the byte limits.

    Plain dicts: nbformat's new_markdown_cell and writes validate each cell, seconds for 100,000.
    """
    cells = [{"cell_type": "markdown", "id": f"c{i}", "metadata": {}, "source": "x"} for i in range(count)]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def deeply_nested(depth):
    """A tiny valid notebook whose one cell's metadata nests lists `depth` levels deep."""
    cell = {"cell_type": "markdown", "metadata": {"x": "<>"}, "source": "deep"}
    nb = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb).replace('"<>"', "[" * depth + "]" * depth).encode()


SHAPE_CASES = {
    "cells": (lambda: many_cells(100_000), "100,000 cells, over the limit of 1,000"),
    "nesting": (lambda: deeply_nested(100_000), "levels deep"),
    "containers": (lambda: notebook("x")[:-1] + b', "extra": [' + "".join(f"[{i}]," for i in range(600_000)).encode()
                   + b"[]]}",  # numbers: a zip of the same "[]," over and over looks like a bomb
                   "JSON objects and arrays (cells, outputs, metadata), over the limit of 500,000"),
}


@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_notebook_over_structure_limits_refused(tmp_path, course, case, kind):
    make, expected = SHAPE_CASES[case]
    members = {**GOOD, "svm.ipynb": make()}
    source = (make_zip(tmp_path / "olga.zip", members) if kind == "zip"
              else make_folder(tmp_path / "olga", members))
    before_source = snapshot(tmp_path)
    result = collect_one(source, course)
    assert result.status == "refused"
    assert expected in result.message and "svm.ipynb" in result.message, result.message
    assert snapshot(course) == RELEASED_ONLY  # refused before anything was written
    assert snapshot(tmp_path) == before_source


def test_notebook_at_structure_limits_collected(tmp_path, course):
    from kit.notebook_limits import MAX_CELLS, MAX_DEPTH
    # The outer notebook, cells list, cell and metadata dict take 4 of the levels.
    members = {**GOOD, "svm.ipynb": many_cells(MAX_CELLS), "softmax.ipynb": deeply_nested(MAX_DEPTH - 4)}
    assert collect_one(make_zip(tmp_path / "pia.zip", members), course).status == "collected"


def test_unparsable_notebook_still_collected(tmp_path, course):
    """Not JSON at all is the grader's "unreadable notebook", as before, not a refusal."""
    members = {**GOOD, "svm.ipynb": b"{not json [[[", "softmax.ipynb": b"\xff\xfe garbage"}
    assert collect_one(make_zip(tmp_path / "quinn.zip", members), course).status == "collected"


@pytest.mark.parametrize("made", ["nothing", "an empty folder"])
def test_a_course_without_a_release_is_refused_and_not_created(tmp_path, made, capsys):
    """`--course /tmp/typo` must not become a new course that nothing else ever reads."""
    typo = tmp_path / "typo"
    if made == "an empty folder":
        typo.mkdir()
    before = snapshot(typo)
    submission = make_zip(tmp_path / "alice.zip", GOOD)
    assert kit_main(["collect", str(submission), "--course", str(typo)]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert f"expected a released course at {typo}" in err and "kit release --course" in err
    assert snapshot(typo) == before
