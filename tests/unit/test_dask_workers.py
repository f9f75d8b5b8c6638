"""A Dask batch whose cluster has no worker ends with grader errors after a set time, and
the working folders of killed graders are removed at the next grading (issue 25: the batch
sat at "Grading: 0%" for 5 minutes; killed workers left /tmp/kit-grade-* behind)."""
import subprocess
import sys

from kit.autograde import cluster, executors, grading
from kit.autograde.result import GradingResult


def test_no_worker_ends_the_batch_with_grader_errors(tmp_path):
    """A real, TLS-secured scheduler with no worker at all."""
    tasks = [GradingResult(student=s, timestamp=None, notebooks={}) for s in ("ann", "ben")]
    with cluster.local_cluster(workers=0) as found:
        access = cluster.check_scheduler(found["scheduler"], course=tmp_path, folder=found["certificates"],
                                         no_worker_timeout=3)
        results = list(executors.execute_tasks(tasks, jobs=1, scheduler=access, progress=False))
    assert sorted(r.student for r in results) == ["ann", "ben"]
    for result in results:
        assert result.failed, result
        assert any("no Dask worker" in p.message for p in result.problems), result.problems


def test_folders_of_dead_graders_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f"{grading.TMP_PREFIX}{dead}-abc"
    (stale / "tests").mkdir(parents=True)
    alive = tmp_path / f"{grading.TMP_PREFIX}{1}-def"   # pid 1 lives as long as the machine
    alive.mkdir()
    other = tmp_path / "kit-grade-notapid"
    other.mkdir()
    assert grading.remove_stale_folders(tmp_path) == [stale]
    assert not stale.exists() and alive.exists() and other.exists()
