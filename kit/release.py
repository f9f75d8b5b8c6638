"""`python -m kit release`: turn this repository into the student release.

Steps: assemble nbgrader's source folder from notebooks/, classifiers/ and utils/, with
the files of student/ (the student's README.md and requirements.txt) at its top,
run nbgrader's generate_assignment (which clears solution cells and hidden tests in
the notebooks but copies .py files verbatim), cut the solution regions out of the
released .py files, check the release line by line against the source, and zip it.
"""
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from . import checks, i18n
from .lock import course_lock
from .course import (ASSIGNMENT, KIT_ROOT, MASTER_PACKAGES, Course, KitError, ensure_alembic_on_path,
                     plan_nbgrader_config, student_owned, write_nbgrader_config)
from .course import JUNK  # noqa: F401 (release.JUNK: what a copy of the release leaves out)
from .notebook_rules import DEFAULT_MARKERS, NOTEBOOKS, markers, solution_regions

# Lines this short or generic ("else:", "return loss, dW") may legitimately stay in a release.
MIN_SECRET_LINE = 12
# The files that go to the top of the student's folder. They live in a folder of their own
# because the repository's README.md and requirements.txt (for instructors) have the same names.
STUDENT_DOCS = "student"
STUDENT_DOC_FILES = ("README.md", "requirements.txt")


def run(*, kit_root=KIT_ROOT, course, dist, lang=i18n.DEFAULT_LANGUAGE):
    """Build the release of `kit_root` in `course` and write `dist`/linear_classifiers.zip,
    its students' text in `lang` (kit/i18n.py; the release fails while a translation is
    missing or stale)."""
    kit_root, course, dist = Path(kit_root), Course(course), Path(dist)
    missing = [p for p in [*(f"notebooks/{nb}" for nb in NOTEBOOKS), *MASTER_PACKAGES,
                           *(f"{STUDENT_DOCS}/{name}" for name in STUDENT_DOC_FILES)]
               if not (kit_root / p).exists()]
    if missing:
        raise KitError(f"expected the kit's {', '.join(missing)} in {kit_root}, found nothing there")
    for folder, option in ((course.root, "--course"), (dist, "--dist")):
        if folder.exists() and not folder.is_dir():
            raise KitError(f"expected {option} to be a folder, got the file {folder} instead; "
                           f"pass another {option} DIR")
    for nb in NOTEBOOKS:   # a typo in a cell's kit.checks would silently drop a trusted check
        checks.refuse_unknown_names(kit_root / "notebooks" / nb)
    # The instructor's configuration is merged before anything changes: a file that cannot
    # be merged refuses the release with the course untouched.
    config = plan_nbgrader_config(course, student_file_paths(kit_root))
    course.root.mkdir(parents=True, exist_ok=True)
    with course_lock(course, "kit release"):
        source = assemble_source(kit_root, course)
        print(write_nbgrader_config(course, planned=config))
        # The delimiters nbgrader's generate_assignment uses: the course's own, if it sets any.
        marks = markers(course.config)
        i18n.apply(kit_root=kit_root, target=source, lang=lang)
        stubs = i18n.stubs(kit_root=kit_root, lang=lang)
        generate_assignment(course, stubs)
        release = course.release
        for path in sorted(release.rglob("*.py")):
            path.write_text(cut_solutions(path.read_text(), path, stub=stubs["function"], marks=marks))
        problems = check_release(source, release, marks)
        if problems:
            raise KitError("the release still holds instructor material:\n  " + "\n  ".join(problems))
        check_imports(release)
        zip_path = write_zip(release, dist)
    print(f"Released {ASSIGNMENT}: {release} and {zip_path}")
    return zip_path


def assemble_source(kit_root, course):
    """Copy the notebooks and the student's README and requirements (flat) and the
    packages into course/source/<assignment>/ (nbgrader releases every file of it)."""
    source = course.source
    if source.exists():
        shutil.rmtree(source)  # generated from the repository: the repository is the master
    source.mkdir(parents=True)
    for nb in NOTEBOOKS:
        shutil.copy2(kit_root / "notebooks" / nb, source / nb)
    for name in STUDENT_DOC_FILES:
        shutil.copy2(kit_root / STUDENT_DOCS / name, source / name)
    for package in MASTER_PACKAGES:
        shutil.copytree(kit_root / package, source / package, ignore=JUNK)
    return source


def student_file_paths(folder):
    """nbgrader's exclude_overwriting matches exact relative paths only: expand the globs
    (in the kit's root or an assignment: the source copies classifiers/ as it is)."""
    return student_owned(folder)


def generate_assignment(course, stubs=None):
    """nbgrader's generate_assignment, its placeholders for cleared answer and code cells
    those of the edition (`stubs`, from kit/i18n.py; None: nbgrader's own)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config
    ensure_alembic_on_path()
    config = Config()
    if stubs is not None:
        config.ClearSolutions.text_stub = stubs["answer cell"]
        config.ClearSolutions.code_stub = {"python": stubs["code cell"]}
    api = NbGraderAPI(coursedir=Course(course).coursedir(), config=config)
    result = api.generate_assignment(ASSIGNMENT, force=True, create=True)
    if not result["success"]:
        raise KitError("nbgrader generate_assignment failed:\n"
                       + (result.get("error") or "") + (result.get("log") or ""))


def enclosing_function(lines, index):
    indent = len(lines[index]) - len(lines[index].lstrip())
    for line in reversed(lines[:index]):
        match = re.match(r"(\s*)def (\w+)", line)
        if match and len(match.group(1)) < indent:
            return match.group(2)
    return "this part"


def cut_solutions(text, path="<text>", keep=(), stub=i18n.FUNCTION_STUB, marks=DEFAULT_MARKERS):
    """Replace each solution region in Python source (but those of functions in `keep`) by
    `stub` (lines; "{name}" stands for the function's name), indented as the region was;
    regions are found by `marks`, the course's delimiters."""
    lines = text.splitlines(keepends=True)
    try:
        regions = list(solution_regions(lines, marks))
    except KitError as err:
        raise KitError(f"{path}: {err}") from None
    for begin, end in reversed(regions):
        indent = lines[begin][:len(lines[begin]) - len(lines[begin].lstrip())]
        name = enclosing_function(lines, begin)
        if name in keep:
            continue
        lines[begin:end + 1] = [f"{indent}{line}\n"
                                for line in stub.replace("{name}", name).splitlines()]
    return "".join(lines)


def secret_lines(source, marks=DEFAULT_MARKERS):
    """Lines an instructor wrote only inside solution regions or hidden tests, over all files.

    A line that also stands outside every region of the source (say `num_train = X.shape[0]`
    in a docstring-side setup) is public anyway and is not counted.
    """
    inside, outside = set(), set()
    for path in sorted(source.rglob("*")):
        for text in texts_of(path):
            secret, public = split_by_markers(text.splitlines(), marks)
            inside |= secret
            outside |= public
    return {line for line in inside - outside if len(line) >= MIN_SECRET_LINE}


def texts_of(path):
    """The texts of a .py file or of each cell of a notebook; nothing for other files."""
    if path.suffix == ".py":
        return [path.read_text()]
    if path.suffix == ".ipynb":
        return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]
    return []


def split_by_markers(lines, marks=DEFAULT_MARKERS):
    inside_lines, outside_lines, inside = set(), set(), False
    for line in lines:
        if marks.begin_solution in line or marks.begin_hidden in line:
            inside = True
        elif marks.end_solution in line or marks.end_hidden in line:
            inside = False
        elif line.strip():
            (inside_lines if inside else outside_lines).add(line.strip())
    return inside_lines, outside_lines


def check_release(source, release, marks=DEFAULT_MARKERS):
    """List every marker or secret line of the source that is still in the release."""
    problems, secrets = [], secret_lines(source, marks)
    for path in sorted(release.rglob("*")):
        rel = path.relative_to(release)
        for text in texts_of(path):
            problems += [f"{rel}: marker '{word}' left in the release"
                         for word in marks.words if word in text]
            problems += [f"{rel}: solution or hidden-test line left: {line.strip()!r}"
                         for line in text.splitlines() if line.strip() in secrets]
    return problems


def check_imports(release):
    """Every import of the kit's packages that a released notebook makes must work there."""
    statements = []
    for nb in NOTEBOOKS:
        for cell in json.loads((release / nb).read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            for line in "".join(cell["source"]).splitlines():
                if re.match(r"\s*(from|import)\s+(classifiers|utils)\b", line):
                    statements.append(line.strip())
    code = "\n".join(dict.fromkeys(statements)) or "import classifiers"
    proc = subprocess.run([sys.executable, "-c", code], cwd=release, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}, timeout=120)
    if proc.returncode != 0:
        raise KitError(f"a released notebook cannot import the released package in {release}:\n"
                       + proc.stderr.strip().splitlines()[-1])


def write_zip(release, dist):
    dist.mkdir(parents=True, exist_ok=True)
    target = dist / f"{ASSIGNMENT}.zip"
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(release.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, Path(ASSIGNMENT) / path.relative_to(release))
    partial.replace(target)
    return target
