"""BLAS threads per kernel: the machine's cores shared by every kernel running at once.

OpenBLAS threads busy-wait, so kernels that together ask for more threads than there are
cores burn them: each of a submission's 4 side-by-side kernels taking both cores of a
2-core grader made a full-size class take 571 s instead of 121 s through nbgrader's path.
`kit autograde --jobs 1` gave each kernel cores // jobs threads the same way."""
import pytest

from kit.autograde import runner


@pytest.mark.parametrize("cores, jobs, run_notebooks, threads", [
    (2, 1, True, 1),     # the old rule (cores // jobs) gave 2 to each of 4 kernels
    (2, 1, False, 1),
    (2, 2, True, 1),
    (16, 1, True, 4),    # tests, checks, two notebooks
    (16, 1, False, 8),   # tests and checks only
    (16, 2, True, 2),
    (16, 3, False, 2),
    (1, 4, True, 1),     # never less than one
])
def test_cores_are_shared_by_every_kernel_at_once(monkeypatch, cores, jobs, run_notebooks, threads):
    monkeypatch.setattr(runner.os, "cpu_count", lambda: cores)
    assert runner.blas_share(jobs=jobs, run_notebooks=run_notebooks) == threads


def test_both_grading_paths_use_the_one_rule():
    from pathlib import Path
    kit = Path(runner.__file__).resolve().parents[1]
    for module in ("autograde/stage.py", "nbgrader_steps.py"):
        text = (kit / module).read_text()
        assert "blas_share(" in text and "cpu_count" not in text, module
