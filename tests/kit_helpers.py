"""Building blocks for the end-to-end tests of release and grading: a released course in a
temporary folder, and submissions made from the release with one change each."""
import hashlib
import json
import shutil
from pathlib import Path

from kit import autograde, collect, release
from kit import reference_submission as reference_builder
from kit.cells import grade_id, is_test
from kit.course import Course

REPO = Path(__file__).resolve().parent.parent


def make_course(root):
    """Release the kit into root/course; return the course folder."""
    course = root / "course"
    release.run(kit_root=REPO, course=course, dist=root / "dist")
    return course


def reference_submission(course, target):
    """A folder holding the reference solution as a student would hand it in."""
    return reference_builder.reference_submission(course, target)


def untouched_submission(course, target):
    shutil.copytree(Course(course).release, target, ignore=release.JUNK)
    return target


def notebook(folder, name):
    return json.loads((folder / name).read_text())


def save_notebook(folder, name, nb):
    (folder / name).write_text(json.dumps(nb, indent=1))


def graded_cells(nb):
    from nbformat import from_dict
    return [c for c in nb["cells"] if is_test(from_dict(c))]


def graded_ids(course, name):
    from nbformat import from_dict
    nb = json.loads((Course(course).source / name).read_text())
    return [grade_id(from_dict(c)) for c in nb["cells"] if is_test(from_dict(c))]


def append_to_function(path, function, line):
    """Insert `line` as the first statement of `function` in a module (after its docstring)."""
    import ast
    text = path.read_text()
    tree = ast.parse(text)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    first = node.body[1] if isinstance(node.body[0], ast.Expr) and len(node.body) > 1 else node.body[0]
    lines = text.splitlines(keepends=True)
    indent = " " * first.col_offset
    lines.insert(first.lineno - 1, indent + line + "\n")
    path.write_text("".join(lines))


def collect_all(course, folders):
    results = collect.run(paths=[str(f) for f in folders], course_dir=course, verbose=False)
    refused = [r.message for r in results if r.refused]
    assert not refused, refused


def grade(course, students, cifar10_dir, **kwargs):
    settings = dict(jobs=2, cell_timeout=autograde.DEFAULT_CELL_TIMEOUT, submission_timeout=900, progress=False)
    settings.update(kwargs)
    results = autograde.run(course=course, students=students, data_dir=cifar10_dir, **settings)
    return {r.student: r for r in results}


def scores(result):
    return {s.grade_id: s.score for s in result.cells("auto")}


def total(result):
    """(points, most points) of a GradingResult's test cells."""
    return result.totals("auto")


def tree_hashes(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def gradebook_grades(course, students):
    """{student: {grade_id: nbgrader Grade fields}} as the course's gradebook holds them now:
    each a dict of auto_score, manual_score and whether the cell is a test (code) cell."""
    from kit.course import ASSIGNMENT
    from kit.notebook_rules import NOTEBOOKS
    found = {}
    with Course(course).gradebook() as gb:
        for student in students:
            found[student] = {}
            for nb in NOTEBOOKS:
                submission = gb.find_submission_notebook(nb.replace(".ipynb", ""), ASSIGNMENT, student)
                for g in submission.grades:
                    found[student][g.name] = {"auto_score": g.auto_score, "manual_score": g.manual_score,
                                              "test": g.cell.cell_type == "code"}
    return found


def gradebook_auto_scores(course, students):
    """{student: {test cell: auto score}} from the gradebook."""
    return {s: {gid: g["auto_score"] for gid, g in cells.items() if g["test"]}
            for s, cells in gradebook_grades(course, students).items()}


def kit_lines_where(find, allowed=()):
    """{module: line numbers} of the kit's modules (outside kit/sandbox/ and the file names
    in `allowed`) where `find(ast tree)` finds something: for tests that say "only this
    module does that"."""
    import ast
    kit = REPO / "kit"
    found = {}
    for path in sorted(kit.rglob("*.py")):
        if path.name in allowed or "sandbox" in path.parts:
            continue
        lines = find(ast.parse(path.read_text()))
        if lines:
            found[str(path.relative_to(kit))] = lines
    return found
