"""`python -m kit hub-env DIR`: the Python environment the hub, formgrader and every
student's server run in.

Students' servers run as their own OS users, so the environment must be readable by every
user: a virtual environment made from the system's Python in a folder such as /opt, never
one under root's home (mode 0700). It holds the kit's dependencies (pyproject.toml's
`[project] dependencies`, or the installed package's metadata when the kit runs from a
wheel, which has no pyproject.toml) and its `hub` extra (JupyterHub, the Korean JupyterLab
language pack), but not the kit itself: kit/ holds the grader's reference losses, so formgrader
imports it from the kit's repository (the course's nbgrader_config.py names it), which only
the grader account may read.
"""
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from ..course import KIT_ROOT, KitError
from ..version import DISTRIBUTION
from .access import Account, reachable

SYSTEM_PYTHON = Path("/usr/bin/python3")


EXTRA = "hub"
_ONLY_THE_EXTRA = re.compile(r"""\s*extra\s*==\s*(["'])%s\1\s*""" % EXTRA)


def requirements(pyproject=KIT_ROOT / "pyproject.toml", distribution=DISTRIBUTION):
    """The kit's dependencies and its `hub` extra, as pip requirement strings: from the
    repository's pyproject.toml, or, where there is none (a wheel's install), from the
    installed distribution's metadata (its Requires-Dist)."""
    if Path(pyproject).is_file():
        project = tomllib.loads(Path(pyproject).read_text())["project"]
        return list(project["dependencies"]) + list(project["optional-dependencies"].get(EXTRA, []))
    try:
        declared = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        raise KitError(f"expected the kit's pyproject.toml at {pyproject} or the kit installed as "
                       f"{distribution}, found neither: install the kit (`pip install .`)") from None
    return requirements_from_metadata(declared)


def requirements_from_metadata(declared):
    """Requires-Dist lines -> the dependencies (no marker, or a marker that is not about an
    extra, which pip evaluates itself) and the `hub` extra's (its marker dropped, so that
    pip installs them); other extras' are left out."""
    base, extra = [], []
    for line in declared:
        requirement, _, marker = line.partition(";")
        if not marker.strip():
            base.append(requirement.strip())
        elif _ONLY_THE_EXTRA.fullmatch(marker):
            extra.append(requirement.strip())
        elif "extra" not in marker:
            base.append(line.strip())
    return base + extra


def run(*, folder, base_python=None):
    folder = Path(folder).absolute()
    if folder.exists() and not folder.is_dir():
        raise KitError(f"expected a folder for the hub's environment, got the file {folder} instead; "
                       "give another DIR, e.g. /opt/kit-hub-env")
    base = Path(base_python) if base_python else SYSTEM_PYTHON
    if not base.is_file():
        raise KitError(f"no Python at {base}: `apt-get install python3 python3-venv`, or give "
                       "--base-python a Python 3.11 readable by every user")
    version = subprocess.run([str(base), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    wanted = "%d.%d" % sys.version_info[:2]
    if version != wanted:
        raise KitError(f"{base} is Python {version or '(unknown)'}, the kit's is {wanted}: give "
                       f"--base-python a Python {wanted}")
    anyone = Account("any user", 65534, frozenset({65534}), "/")
    existing = next(p for p in [folder, *folder.parents] if p.exists())
    if not reachable(existing, anyone, 1):
        raise KitError(f"{folder} is inside a folder other users cannot open ({existing}), but every "
                       "student's server runs in this environment: choose a folder such as /opt/kit-hub-env")
    if not (folder / "bin" / "python").exists():
        proc = subprocess.run([str(base), "-m", "venv", str(folder)], capture_output=True, text=True)
        if proc.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise KitError(f"could not make a virtual environment in {folder} ({proc.stderr.strip()}): "
                           "`apt-get install python3-venv`")
    command = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", *requirements()]
    print("Installing the hub's environment into", folder, flush=True)
    if subprocess.run(command).returncode != 0:
        raise KitError(f"pip could not install the hub's environment into {folder} (see above)")
    print(f"The hub's environment is ready: pass `--python {folder / 'bin' / 'python'}` to `kit hub`")
    return folder
