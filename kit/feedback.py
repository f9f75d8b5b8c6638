"""`python -m kit feedback`: feedback HTML per graded notebook, with nothing of the hidden tests.

Run after `kit autograde` and after any grading by hand in formgrader: the scores come
from nbgrader's gradebook as they stand (hand-given scores and comments included), the
notebooks from course/autograded, and the HTML goes to course/feedback/<student>/, where
nbgrader's own release_feedback finds it.

nbgrader's generate_feedback shows hidden-test source, and clearing that source is not
enough: a failing hidden test prints its own line in the traceback. Here every test
cell shows only its visible part, and its error output is rebuilt from scratch: the
error type and message when the failing line is visible, a plain "a hidden test
failed" otherwise, plus the frames in the student's own files.
"""
import contextlib
import copy
import json
import re
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import nbformat

from . import cells
from .course import (ASSIGNMENT, NOTEBOOKS, autograded_dir, choose_students, coursedir,
                     feedback_dir, gradebook_url)
from .grades import SUMMARY, write_folder
from .release import BEGIN_HIDDEN, END_HIDDEN

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_FRAME = re.compile(r"(?:Cell In\s*\[\d*\]|<ipython-input-[^>]*>|File <string>)\D*line (\d+)")
FILE_FRAME = re.compile(r"File (\S*?(classifiers|utils)/[\w./-]+\.py):(\d+), in (\w+)")
KIT_ERRORS = {"KernelFailure", "NotRun", "TimeLimit"}


def visible_source(source):
    """The test cell as released: lines between the hidden-test markers removed."""
    kept, hidden = [], False
    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            hidden = True
        elif END_HIDDEN in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def visible_line_count(source):
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if BEGIN_HIDDEN in line:
            return i
    return len(lines)


def safe_error(output, test_source):
    """Rebuild an error output of a test cell so that it reveals no hidden test."""
    if output.ename in KIT_ERRORS:
        return output
    text = ANSI.sub("", "\n".join(output.get("traceback", [])))
    frame = CELL_FRAME.search(text)
    line = int(frame.group(1)) if frame else None
    student_frames = [f"  {m.group(1).split('/work/')[-1]}:{m.group(3)}, in {m.group(4)}"
                      for m in FILE_FRAME.finditer(text)]
    if line is not None and line <= visible_line_count(test_source):
        headline = f"{output.ename}: {output.evalue}"
        where = [f"The check on line {line} of this test cell failed."]
    else:
        headline = f"{output.ename} in a hidden test"
        where = ["A hidden test of this cell failed: compare your function with the task's "
                 "description, including edge cases (one example, reg = 0, large scores)."]
    traceback = [headline] + where + (["In your code:"] + student_frames if student_frames else [])
    return nbformat.v4.new_output("error", ename=output.ename,
                                  evalue=headline, traceback=traceback)


def sanitize(nb):
    """A copy of a graded notebook fit to hand back: hidden tests gone, test errors rebuilt."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if not cells.is_test(cell):
            continue
        full = cell.source
        cell.source = visible_source(full)
        cell.outputs = [safe_error(o, full) if o.output_type == "error" else o
                        for o in cell.outputs]
    return nb


def score_table(scores, problems):
    auto = [s for s in scores.values() if s["kind"] == "auto"]
    got = sum(s["score"] or 0 for s in auto)
    total = sum(s["max"] for s in auto)
    rows = ["| cell | score | |", "|---|---|---|"]
    for gid, s in scores.items():
        score = "pending" if s["score"] is None else f"{s['score']:g}"
        note = ("passed" if s["score"] == s["max"] and s["kind"] == "auto" else
                "failed" if s["kind"] == "auto" else s.get("message", ""))
        if s.get("comment"):
            note += ": " + " ".join(s["comment"].split()).replace("|", "\\|")
        rows.append(f"| `{gid}` | {score} / {s['max']:g} | {note} |")
    text = [f"# Feedback\n\nAutograded score: **{got:g} / {total:g}** "
            "(written answers are graded by hand).\n", *rows]
    if problems:
        text += ["\n**Notes from the grader:**\n"] + [f"- {p}" for p in problems]
    return "\n".join(text)


def render(nb, scores, problems):
    """HTML feedback for one notebook: a score table, then the sanitized notebook."""
    from nbconvert import HTMLExporter
    handout = sanitize(nb)
    handout.cells.insert(0, nbformat.v4.new_markdown_cell(score_table(scores, problems)))
    for cell in handout.cells:
        cell.get("metadata", {}).pop("nbgrader", None)
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(handout)
    return html


# ---------------------------------------------------------------- the stage


def run(*, course, students=None, jobs=1, progress=True):
    """Write feedback HTML for the named (or all) graded students; return the folders written."""
    from tqdm import tqdm
    from nbgrader.api import Gradebook
    course = Path(course)
    students = graded_students(course, students)
    with Gradebook(gradebook_url(course), coursedir(course).course_id) as gb:
        inputs = [handout_inputs(course, gb, student) for student in students]
    written = []
    # Rendering (nbconvert, with HTML sanitizing) takes seconds per notebook: worth processes.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) if jobs > 1 else \
            contextlib.nullcontext() as pool:
        pages = pool.map(render_student, inputs) if pool else map(render_student, inputs)
        for student, data, html in tqdm(zip(students, inputs, pages), total=len(students),
                                        desc="Feedback", unit="submission", disable=not progress):
            target = feedback_dir(course, student)
            write_folder(target, html, data["timestamp"])
            written.append(target)
    print(f"Feedback for {len(written)} submission(s): {course / 'feedback'}")
    return written


def graded_students(course, students):
    root = course / "autograded"
    graded = sorted(p.parent.parent.name for p in root.glob(f"*/{ASSIGNMENT}/{SUMMARY}")) if root.is_dir() else []
    return choose_students(students, graded, kind="graded", root=root, first="python -m kit autograde")


def handout_inputs(course, gb, student):
    """Plain data for one student's feedback: notebooks, current scores, grader notes."""
    folder = autograded_dir(course, student)
    summary = json.loads((folder / SUMMARY).read_text())
    stamp = folder / "timestamp.txt"
    scores = gradebook_scores(gb, student, summary["scores"])
    return {"notebooks": {nb: (folder / nb).read_text() for nb in NOTEBOOKS if (folder / nb).is_file()},
            "scores": scores, "problems": summary["problems"],
            "notebook_problems": summary.get("notebook_problems", {}),
            "timestamp": stamp.read_text().strip() if stamp.is_file() else None}


def gradebook_scores(gb, student, autograded):
    """The autograder's scores, overridden by what the gradebook `gb` holds now (hand grading)."""
    from nbgrader.api import MissingEntry
    scores = copy.deepcopy(autograded)
    for nb, cells_scores in scores.items():
        for gid, s in cells_scores.items():
            try:
                grade = gb.find_grade(gid, nb.replace(".ipynb", ""), ASSIGNMENT, student)
            except MissingEntry:
                continue
            if grade.manual_score is not None:
                s.update(score=float(grade.manual_score), message="graded by hand")
            elif s["kind"] == "manual" and s["score"] is None:
                s["message"] = "not graded yet"
            try:
                comment = gb.find_comment(gid, nb.replace(".ipynb", ""), ASSIGNMENT, student)
                s["comment"] = comment.comment
            except MissingEntry:
                pass
    return scores


def render_student(inputs):
    """{notebook.html: HTML} for one student (runs in a worker process)."""
    pages = {}
    for nb_name, text in inputs["notebooks"].items():
        nb = nbformat.reads(text, as_version=4)
        problems = inputs["problems"] + inputs["notebook_problems"].get(nb_name, [])
        pages[nb_name.replace(".ipynb", ".html")] = render(nb, inputs["scores"].get(nb_name, {}), problems)
    return pages
