"""The kit as a distribution, and the README's main command: a wheel built from the
repository, installed in a fresh virtual environment, runs `kit demo` from a folder
outside the repository, reading the assignment from its install (kit/_assignment/).

The venv sees the system's packages (--system-site-packages), so nothing is downloaded
but the build's own tools (pip's build isolation, from its cache when it has them). Where
a venv or the wheel cannot be made, the demo runs from the checkout instead (and says so),
so the demo's grades are always checked."""
import os
import subprocess
import sys
import sysconfig
import venv

import pytest

from kit_helpers import REPO

pytestmark = pytest.mark.slow
DEMO_STUDENTS = ("demo_reference", "demo_untouched", "demo_partial")


def tracked_files(target):
    """A copy of the repository's tracked files: the build writes build/ and *.egg-info
    beside its sources, never into the repository itself."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for rel in filter(None, listed.decode().split("\0")):
        source = REPO / rel
        if source.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).write_bytes(source.read_bytes())
    return target


def installed_kit(tmp_path):
    """The `kit` command of a fresh venv holding the wheel, or (None, why not)."""
    if not (REPO / ".git").exists():
        return None, "not a git checkout (the wheel is built from its tracked files)"
    try:
        venv.EnvBuilder(system_site_packages=True, with_pip=True).create(tmp_path / "venv")
    except Exception as err:
        return None, f"python -m venv failed: {type(err).__name__}: {err}"
    python = tmp_path / "venv" / "bin" / "python"
    source = tracked_files(tmp_path / "source")
    build = subprocess.run([str(python), "-m", "pip", "wheel", str(source), "--no-deps", "-q",
                            "-w", str(tmp_path / "wheel")], capture_output=True, text=True, timeout=600)
    wheels = list((tmp_path / "wheel").glob("*.whl"))
    if build.returncode != 0 or not wheels:
        return None, "the wheel could not be built: " + (build.stderr.strip().splitlines() or ["?"])[-1]
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                              str(wheels[0])], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    return tmp_path / "venv" / "bin" / "kit", None


def test_the_wheel_runs_the_demo_outside_the_repository(tmp_path, cifar10_dir):
    command, why_not = installed_kit(tmp_path)
    outside = tmp_path / "somewhere"
    outside.mkdir()
    env = {**os.environ, "CIFAR10_DIR": cifar10_dir,
           # A --system-site-packages venv finds the system's Jupyter data (nbconvert's
           # templates) only through JUPYTER_PATH: a real install puts them in the venv.
           "JUPYTER_PATH": os.path.join(sysconfig.get_paths()["data"], "share", "jupyter")}
    env.pop("PYTHONPATH", None)   # nothing of the repository on the path
    if command is None:
        print(f"the wheel was not tested ({why_not}); the demo runs from the checkout instead")
        args, cwd, course = [sys.executable, "-m", "kit", "demo", "--course", str(tmp_path / "course"),
                             "--dist", str(tmp_path / "dist")], REPO, tmp_path / "course"
        env["PYTHONPATH"] = str(REPO)
    else:
        args, cwd, course = [str(command), "demo"], outside, outside / "demo-course"
    proc = subprocess.run([*args, "--tests-only", "--jobs", "2"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for student in DEMO_STUDENTS:
        line = next(l for l in proc.stdout.splitlines() if l.strip().startswith(student) and "expected" in l)
        assert line.rstrip().endswith(": ok"), line
    assert (course / "grades.csv").is_file()
    for student in DEMO_STUDENTS:
        assert (course / "feedback" / student / "linear_classifiers" / "svm.html").is_file()
    if command is not None:
        # The installed kit read its own copy of the assignment and wrote only where it ran.
        assert (outside / "dist" / "linear_classifiers.zip").is_file()
        assert "_assignment" in subprocess.run(
            [str(tmp_path / "venv" / "bin" / "python"), "-c", "import kit.locations as l; print(l.KIT_ROOT)"],
            cwd=outside, env=env, capture_output=True, text=True).stdout
