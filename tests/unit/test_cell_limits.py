"""Cell time limits from the reference's timings, and the record of hangs (kit/autograde/limits.py)."""
import pytest

from kit.autograde import limits
from kit.autograde.limits import FACTOR, FLOOR_SECONDS, PACKAGE, Hangs, cell_limit, cell_uses


def test_limit_is_a_generous_multiple_with_a_floor_and_a_ceiling():
    assert cell_limit(None, 120) == 120                      # a cell the reference does not have
    assert cell_limit(0.01, 120) == FLOOR_SECONDS            # short cells: the floor
    assert cell_limit(5.0, 120) == FACTOR * 5.0              # longer ones: the factor
    assert cell_limit(60.0, 120) == 120                      # never above the course's ceiling
    assert cell_limit(0.01, 10) == 10                        # a lower ceiling wins over the floor


def test_cells_use_the_functions_they_name_and_the_package():
    assert cell_uses("from classifiers.linear_svm import svm_loss_vectorized\nsvm_loss_vectorized(W, X, y, 0)") \
        == {PACKAGE, "svm_loss_vectorized"}
    assert cell_uses("plt.show()") == frozenset()


def test_a_hang_blocks_the_cells_that_use_it_and_the_package_blocks_all():
    hangs = Hangs()
    assert hangs.blocking({PACKAGE, "svm_loss_vectorized"}) is None
    hangs.record({"svm_loss_vectorized"}, "svm.ipynb:test_svm_vectorized_loss")
    assert hangs.blocking({PACKAGE, "svm_loss_naive"}) is None
    assert hangs.blocking({PACKAGE, "svm_loss_vectorized"}) == \
        ("svm_loss_vectorized", "svm.ipynb:test_svm_vectorized_loss", "ran past its time limit")
    hangs.record({PACKAGE}, "import classifiers")
    assert hangs.blocking({PACKAGE, "svm_loss_naive"}) == (PACKAGE, "import classifiers", "ran past its time limit")


def test_the_factor_and_floor_are_documented():
    assert f"FACTOR {FACTOR}" in limits.__doc__ and f"FLOOR_SECONDS {FLOOR_SECONDS}" in limits.__doc__


def test_reference_times_follow_the_machine_speed_now():
    """Timed on an idle machine, graded on a busy one: the limits stretch, never shrink
    (issue 25: a reference merely slow under load was stopped at its idle-time limit)."""
    from kit.autograde import reference_times
    cached = {"svm.ipynb/cell": 4.0, reference_times.PROBE_KEY: 0.2}
    assert reference_times.scaled(cached, 0.6) == ({"svm.ipynb/cell": pytest.approx(12.0)}, pytest.approx(3.0))
    assert reference_times.scaled(cached, 0.1) == ({"svm.ipynb/cell": 4.0}, 1.0)
    # A cache from before the probe existed: the times as they are.
    assert reference_times.scaled({"svm.ipynb/cell": 4.0}, 0.6) == ({"svm.ipynb/cell": 4.0}, 1.0)
    assert reference_times.machine_seconds(repeats=1) > 0


def test_no_reference_run_when_the_ceiling_is_every_limit(tmp_path, monkeypatch):
    """At or under the floor, every cell's limit is the ceiling: timing the reference (a whole
    grading of it) would change nothing, so it is not done; above it, it is."""
    from kit.autograde import reference_times
    from kit.autograde.task import GradingTask
    measured = []
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(reference_times, "measure", lambda course, task: measured.append(task) or {"c": 1.0})
    monkeypatch.setattr(reference_times, "fingerprint", lambda course, task: "key")
    task = GradingTask(student="s", files={}, master_files={}, source_notebooks={}, release_notebooks={},
                       cell_timeout=FLOOR_SECONDS)
    assert reference_times.load_or_measure(tmp_path, task, progress=False) == {}
    assert measured == []
    task = GradingTask(student="s", files={}, master_files={}, source_notebooks={}, release_notebooks={},
                       cell_timeout=FLOOR_SECONDS + 1)
    assert reference_times.load_or_measure(tmp_path, task, progress=False) == {"c": 1.0}
    assert len(measured) == 1


def test_the_timings_key_does_not_hold_the_ceiling(tmp_path):
    """Kept times are complete runs (a reference past the ceiling is never kept), so they hold
    under any ceiling: a course graded with another --cell-timeout reuses them."""
    from kit.autograde import reference_times
    from kit.autograde.task import GradingTask
    (tmp_path / "source" / "linear_classifiers").mkdir(parents=True)
    (tmp_path / "source" / "linear_classifiers" / "svm.ipynb").write_text("{}")
    keys = {reference_times.fingerprint(tmp_path, GradingTask(
        student="s", files={}, master_files={}, source_notebooks={}, release_notebooks={},
        cell_timeout=ceiling)) for ceiling in (60, 300)}
    assert len(keys) == 1
