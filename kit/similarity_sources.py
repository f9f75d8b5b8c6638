"""What `kit similarity` compares (kit/similarity.py): each submission's own code, each
known solution's, and the base that never counts (the release, every edition's given
code, the --base folders). Student code is untrusted text here: read with a size bound,
never executed, imported or rendered.
"""
import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import notebook_limits
from .cells import is_instructor_cell
from .course import ASSIGNMENT, KIT_ROOT, Course, student_owned
from .notebook_rules import NOTEBOOKS

# Bounds on what is read from a student (or a known-solutions folder): more is cut, and
# the cut is noted in the report.
MAX_FILE_BYTES = 256 * 1024
MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024
MAX_DOCUMENT_CHARS = 1024 * 1024
MAX_KNOWN_FILES = 2000   # also the most files read from each --base folder
MAX_BASE_CHARS = 16 * 1024 * 1024   # of all --base folders together


# What every edition's starter gives and any solution keeps, beyond the release: the
# import lines of the course's files of each year (2017-2018, 2019-2020, 2021-2024, file by
# file, in their order) and the naive SVM loss loop the course hands out (students add the
# gradient lines to it; the kit's stub asks for all of it), taken from the kit's reference
# (given_naive_svm): with names normalized it is the same token string as the course's.
EDITION_IMPORTS = [
    ["import numpy as np", "from random import shuffle"],
    ["from __future__ import print_function", "import numpy as np",
     "from cs231n.classifiers.linear_svm import *", "from cs231n.classifiers.softmax import *"],
    ["from builtins import range", "import numpy as np", "from random import shuffle",
     "from past.builtins import xrange"],
    ["from __future__ import print_function", "from builtins import range", "from builtins import object",
     "import numpy as np", "from cs231n.classifiers.linear_svm import *",
     "from cs231n.classifiers.softmax import *", "from past.builtins import xrange"],
    ["from __future__ import print_function", "from builtins import range", "from builtins import object",
     "import numpy as np", "from ..classifiers.linear_svm import *", "from ..classifiers.softmax import *",
     "from past.builtins import xrange"],
]


def given_naive_svm():
    """The naive SVM loss loop every edition hands out, read from the kit's own reference
    (classifiers/linear_svm.py): svm_loss_naive's lines but its docstring, comments,
    solution markers and the gradient lines students add (those stay theirs)."""
    path = KIT_ROOT / "classifiers" / "linear_svm.py"
    text = path.read_text()
    function = next(node for node in ast.parse(text).body
                    if isinstance(node, ast.FunctionDef) and node.name == "svm_loss_naive")
    lines = text.splitlines()[function.lineno - 1:function.end_lineno]
    docstring = function.body[0]
    skip = range(docstring.lineno - function.lineno, docstring.end_lineno - function.lineno + 1) \
        if isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant) else range(0)
    kept = [line for n, line in enumerate(lines) if n not in skip and line.strip()
            and not line.strip().startswith("#") and "dW" not in line]
    return "\n".join(kept) + "\n"


def given_code():
    """The kit's stand-in for every edition's starter code (beside the release's own)."""
    imports = "\n\n".join("\n".join(lines) for lines in EDITION_IMPORTS)
    return imports + "\n\n" + given_naive_svm()


@dataclass
class Document:
    """One side of a comparison: a student's code or one known solution file."""
    name: str            # the student id, or "known:<path inside the known folder>"
    kind: str            # "student" or "known"
    text: str = ""
    notes: list = field(default_factory=list)


def submission_folders(course):
    """{student: assignment folder}: what they handed in (submitted/), else what was graded."""
    found = {}
    course = Course(course)
    for root in (course.autograded(), course.submitted()):   # submitted/ wins
        if not root.is_dir():
            continue
        for folder in sorted(root.glob(f"*/{ASSIGNMENT}")):
            if folder.is_dir() and not folder.is_symlink() and not folder.parent.is_symlink():
                found[folder.parent.name] = folder
    return dict(sorted(found.items()))


def read_text(path, limit, notes, label):
    """The file's text, at most `limit` bytes of it (decoded leniently); '' for a link or
    anything but a regular file. Each refusal or cut is added to `notes`."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        notes.append(f"{label}: not a regular file, skipped")
        return ""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        notes.append(f"{label}: larger than {limit} bytes, only the first {limit} compared")
        data = data[:limit]
    return data.decode("utf-8", errors="replace").replace("\x00", "")


def notebook_code_cells(path, notes, label, skip_ids=frozenset()):
    """[(index, grade_id or None, source)] of a notebook's code cells but those whose
    grade_id is in `skip_ids`; [] (with a note) for a notebook that is not readable JSON of
    the right shape."""
    text = read_text(path, MAX_NOTEBOOK_BYTES, notes, label)
    if not text:
        return []
    try:
        notebook_limits.check_text(text, label)   # the one bound on cells and nesting
    except notebook_limits.NotebookTooLarge as err:
        notes.append(f"{err}; skipped")
        return []
    try:
        nb = json.loads(text)
    except (ValueError, RecursionError):
        notes.append(f"{label}: not a readable notebook, skipped")
        return []
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        notes.append(f"{label}: no list of cells, skipped")
        return []
    found = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata")
        grading = meta.get("nbgrader") if isinstance(meta, dict) else None
        grade_id = grading.get("grade_id") if isinstance(grading, dict) else None
        if not isinstance(grade_id, str):
            grade_id = None
        if grade_id in skip_ids:
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if isinstance(source, str) and source.strip():
            found.append((index, grade_id, source))
    return found


@dataclass
class Release:
    """What the course gave: each starter file's text, each notebook's answer cells (by
    grade_id) and the ids of its locked and test cells, and all of it as one text whose
    fingerprints are boilerplate."""
    files: dict
    answers: dict
    instructor_cells: frozenset
    text: str
    base_lines: frozenset = frozenset()   # normalized lines of the base (see `normalized`)


def read_release(release):
    files = {rel: (release / rel).read_text() for rel in student_owned(release)}
    answers, instructor, everything = {}, set(), list(files.values())
    for nb in NOTEBOOKS:
        if not (release / nb).is_file():
            continue
        for cell in json.loads((release / nb).read_text()).get("cells", []):
            grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
            source = "".join(cell.get("source", ""))
            if cell.get("cell_type") != "code":
                continue
            everything.append(source)
            if grade_id and is_instructor_cell(cell):
                # the course wrote those: a submission's copy is never its own code,
                # whatever metadata it gives the cell
                instructor.add(grade_id)
            elif grade_id:
                answers[(nb, grade_id)] = source
    return Release(files, answers, frozenset(instructor), "\n\n".join(everything))


def normalized(line):
    """A line without its whitespace and (when it holds no quote) its comment, for matching
    lines of the base wherever they stand and however they are indented."""
    if "#" in line and "'" not in line and '"' not in line:
        line = line[:line.index("#")]
    return "".join(line.split())


def base_lines(texts):
    return frozenset(filter(None, (normalized(line) for text in texts for line in text.splitlines())))


def own_code(label, text, given, base=frozenset()):
    """[(label, code)]: the runs of lines of `text` that are not lines of `given` (the
    release's version) nor, wherever they stand, lines of the base (`base`: normalized
    lines), each labelled with its line numbers. Removing what the course wrote before
    fingerprinting keeps fingerprints that straddle given and written code (the same for
    every student) from counting as similarity."""
    import difflib
    lines = text.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, given.splitlines(keepends=True), lines)
    runs = []

    def add(lo, hi):
        chunk = "".join(lines[lo:hi])
        if chunk.strip():
            runs.append((f"{label}, lines {lo + 1}-{hi}", chunk))
    for op, _, _, lo, hi in matcher.get_opcodes():
        if op not in ("replace", "insert"):
            continue
        start = lo
        for number in range(lo, hi):
            if normalized(lines[number]) in base:
                add(start, number)
                start = number + 1
        add(start, hi)
    return runs


def join_parts(parts, notes):
    """One text from [(label, code)]: each part after a comment line naming it (comments
    are not tokens to the detector, so the labels never match anything)."""
    text = "".join(f"# ==== {label} ====\n{code.rstrip()}\n\n" for label, code in parts)
    if len(text) > MAX_DOCUMENT_CHARS:
        notes.append(f"more than {MAX_DOCUMENT_CHARS} characters of code, only the first compared")
        text = text[:MAX_DOCUMENT_CHARS]
    return text


def student_document(student, folder, release):
    """A submission's own code: what it added to or changed in its student-owned .py files,
    then in the notebooks' code cells but the course's locked and test cells (answer cells
    compared with the release's, cells the student added whole)."""
    doc = Document(name=student, kind="student")
    parts = []
    for rel in student_owned(folder):
        text = read_text(folder / rel, MAX_FILE_BYTES, doc.notes, rel)
        parts += own_code(rel, text, release.files.get(rel, ""), release.base_lines)
    for nb in NOTEBOOKS:
        if (folder / nb).exists():
            for index, grade_id, source in notebook_code_cells(folder / nb, doc.notes, nb,
                                                               release.instructor_cells):
                parts += own_code(f"{nb}, cell {index + 1}", source, release.answers.get((nb, grade_id), ""),
                                  release.base_lines)
    doc.text = join_parts(parts, doc.notes)
    return doc


def known_solutions(folder, release):
    """One Document per .py file or notebook under `folder` (links skipped), at most
    MAX_KNOWN_FILES; a .py file named like a starter file is compared with it as a
    submission's is (only what it changed counts)."""
    paths = sorted(p for p in folder.rglob("*") if p.suffix in (".py", ".ipynb")
                   and not p.is_symlink() and p.is_file())
    documents = []
    for path in paths[:MAX_KNOWN_FILES]:
        rel = path.relative_to(folder).as_posix()
        doc = Document(name=f"known:{rel}", kind="known")
        if path.suffix == ".py":
            text = read_text(path, MAX_FILE_BYTES, doc.notes, rel)
            parts = own_code(rel, text, release.files.get(f"classifiers/{path.name}", ""), release.base_lines)
        else:
            # a solved copy of the release's notebook: its answer cells compared with the
            # release's (by grade_id), the course's locked and test cells left out
            answers = {grade_id: source for (_, grade_id), source in release.answers.items()}
            parts = [part for i, grade_id, s in notebook_code_cells(path, doc.notes, rel, release.instructor_cells)
                     for part in own_code(f"{rel}, cell {i + 1}", s, answers.get(grade_id, ""),
                                          release.base_lines)]
        doc.text = join_parts(parts, doc.notes)
        documents.append(doc)
    if len(paths) > MAX_KNOWN_FILES:
        print(f"warning: {folder} holds {len(paths)} code files; only the first {MAX_KNOWN_FILES} compared")
    return documents


def base_code(folder, notes):
    """The code of every .py file and every notebook's code cells under `folder` (links
    skipped, at most MAX_KNOWN_FILES files, each size-bounded), for the boilerplate."""
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix in (".py", ".ipynb")
                   and not p.is_symlink() and p.is_file())
    if len(paths) > MAX_KNOWN_FILES:
        notes.append(f"{folder} holds {len(paths)} code files; only the first {MAX_KNOWN_FILES} are base")
    texts, total = [], 0
    for path in paths[:MAX_KNOWN_FILES]:
        label = path.relative_to(folder).as_posix()
        if path.suffix == ".py":
            found = [read_text(path, MAX_FILE_BYTES, notes, label)]
        else:
            found = [source for _, _, source in notebook_code_cells(path, notes, label)]
        total += sum(map(len, found))
        if total > MAX_BASE_CHARS:
            notes.append(f"{folder}: more than {MAX_BASE_CHARS} characters of code; {label} and what "
                         f"follows it are not base")
            break
        texts += found
    return texts


# -- comparing -------------------------------------------------------------------------
