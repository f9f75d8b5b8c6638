"""The reference solution handed in as a student would hand it in: the grader times its
cells against it (kit/autograde/reference_times.py) and the demo grades it (kit/demo.py)."""
import json
import shutil

from .course import JUNK, Course
from .notebook_rules import BEGIN_SOLUTION, END_SOLUTION, NOTEBOOKS


def reference_submission(course, target):
    """The reference solution as a student would hand it in, in the folder `target`."""
    course = Course(course)
    released, source = course.release, course.source
    reference = copy_release(released, target)
    for path in (source / "classifiers").glob("*.py"):
        shutil.copy2(path, reference / "classifiers" / path.name)
    for nb in NOTEBOOKS:
        (reference / nb).write_text(solved_notebook(source / nb, released / nb))
    return reference


def copy_release(released, target):
    shutil.copytree(released, target, ignore=JUNK)
    return target


def solved_notebook(source, released):
    """The released notebook as a student who solved everything hands it in: each solution
    cell holds the source's model answer or code (markers removed), all else as released."""
    answers = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
               for cell in json.loads(source.read_text())["cells"]
               if cell["metadata"].get("nbgrader", {}).get("solution")}
    nb = json.loads(released.read_text())
    markers = (BEGIN_SOLUTION, END_SOLUTION)
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            lines = answers[grade_id].splitlines()
            cell["source"] = "\n".join(l for l in lines if not any(m in l for m in markers))
    return json.dumps(nb, indent=1)
