"""The wheel carries the assignment the kit releases: pyproject.toml says everything else.

A wheel (`pip install .`, `pip wheel .`) gets the repository's notebooks/, classifiers/,
utils/, student/ and i18n/ copied into the package as kit/_assignment/ (kit/locations.py
finds them there), so an installed kit releases, grades and runs its demo from any
folder. An editable install (the repository's own, `pip install -e .`) copies nothing: the
kit reads the repository itself.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# The assignment's content (kit/release.py, kit/i18n.py and kit/phrases.py read it).
ASSIGNMENT_FOLDERS = ("notebooks", "classifiers", "utils", "student", "i18n")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")


class BuildWithAssignment(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "kit" / "_assignment"
        shutil.rmtree(target, ignore_errors=True)
        for folder in ASSIGNMENT_FOLDERS:
            shutil.copytree(ROOT / folder, target / folder, ignore=JUNK)


setup(cmdclass={"build_py": BuildWithAssignment})
