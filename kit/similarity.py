"""`python -m kit similarity`: which submissions share code, with each other or with known solutions.

Every submission's own code (its student-owned `classifiers/*.py` and the code cells it
wrote in the notebooks) is compared with every other submission's and with an optional
folder of known solutions (say, the public solution repositories of this assignment) by
copydetect: winnowed fingerprints of pygments tokens with every name replaced by one
letter, so renamed variables, reformatting and reordered functions change nothing.

The base never counts (MOSS's "base file", copydetect's boilerplate): only the lines a
submission added to or changed in the release's files and answer cells are compared (locked
and test cells not at all); lines of the base (the release's among them) are dropped
wherever they stand, so a moved signature or a reordered file hides nothing; and any fingerprint of the base found in what is left is boilerplate. The base is the
release, the kit's stand-in for what every edition's starter gives (`given_code`: the import
lines of the course's files of each year and the naive SVM loss loop the course hands out,
which the kit's stub asks students to write), and every `--base` folder (the course's own
starter files of every year, unzipped: code real submissions are made of). So an untouched
release or starter is similar to nothing, and two students are not similar for filling in
the same starter.

Pairs are ranked by their score, the larger of the two shares of a side's own code found in
the other, and only those scoring at least THRESHOLD (60%) are listed; the page and the CSV
say how many were left out and the best score among them. Why 60%: on the labelled class
of tests/similarity_class.py (six independent correct solutions of different years and
styles in the course's form, four planted copies: renamed and reformatted, reordered, split
into helpers, all at once under another year's imports) independent pairs score at most
11% and copies at least 90% (before the base held the course's imports and naive loop:
independent pairs up to 44%, copies from 94%); the two student-to-student copies the issue
found scored about 80%. 60% sits far from both: an independent pair would need to share
five times the idioms the class shows, a copy could lose a third of its code to rewriting
and still be listed. Lower it (`--threshold`) to see more.

Student code is untrusted text here: read with a size bound, never executed, imported or
rendered. The report is a static HTML page (no script; everything escaped; a content
security policy that allows no script, image or remote resource) with the pairs ranked
and the matching regions side by side, plus the same ranking as CSV. Nothing leaves the
machine.
"""
import ast
import csv
import dataclasses
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import notebook_limits
from .cells import is_instructor_cell
from .course import ASSIGNMENT, KIT_ROOT, NOTEBOOKS, KitError, release_dir, student_owned
from .grades import printable, spreadsheet_safe

# copydetect's defaults: a match must cover 25 characters of the token string (names are
# one letter there, so about a statement), and every such match is guaranteed found.
NOISE = 25
GUARANTEE = 25
DEFAULT_SHOWN = 50  # pairs the HTML report shows side by side
# Pairs scoring below this share of one side's own code are left out of the page and the
# CSV (counted there, with the best score left out). Why 0.6: see the module docstring.
THRESHOLD = 0.6
# Bounds on what is read from a student (or a known-solutions folder): more is cut, and
# the cut is noted in the report.
MAX_FILE_BYTES = 256 * 1024
MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024
MAX_DOCUMENT_CHARS = 1024 * 1024
MAX_KNOWN_FILES = 2000   # also the most files read from each --base folder
MAX_BASE_CHARS = 16 * 1024 * 1024   # of all --base folders together
# Lines of context shown around each matching region in the side-by-side view, and the
# most pairs the page's table lists (the CSV has them all).
CONTEXT = 3
MAX_TABLE_ROWS = 500


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


@dataclass
class Pair:
    a: Document
    b: Document
    similarity_a: float  # share of a's own (non-boilerplate) code found in b
    similarity_b: float
    tokens: int          # matching tokens
    slices_a: list       # [(start, end)] character ranges of a.text that match b
    slices_b: list

    @property
    def score(self):
        return max(self.similarity_a, self.similarity_b)


def run(*, course, known=None, base=(), out=None, show=DEFAULT_SHOWN, threshold=THRESHOLD, noise=NOISE,
        guarantee=GUARANTEE, verbose=True):
    """
    Compare every submission with every other and with the known solutions.

    Inputs:
    - course: the nbgrader course folder; submissions are read from submitted/ (else
      autograded/), the boilerplate from release/.
    - known: a folder of known solutions (every .py and .ipynb under it), or None.
    - base: folders of code that never counts (MOSS's base file), e.g. the course's starter
      files of every year; every .py and .ipynb under each. The release and the kit's
      stand-in for every edition's starter (`given_code`) never count either.
    - out: the folder for similarity.html and similarity.csv (default course/similarity).
    - show: how many of the top pairs the HTML shows side by side.
    - threshold: the score (0 to 1) a pair needs to be listed on the page and in the CSV;
      both say how many pairs were left out below it.
    - noise, guarantee: copydetect's thresholds, in characters of the token string.
    - verbose: print the top pairs.

    Returns:
    - dict with "pairs" (every compared Pair with a match, best first), "listed" (those at
      or above the threshold), "documents" (every Document read), "html" and "csv" (the
      paths written).

    Raises KitError when the course has no release or no submissions, `known` or a base is
    not a folder, or the threshold is not between 0 and 1.
    """
    course = Path(course)
    if not isinstance(show, int) or show < 0:
        raise KitError(f"expected --show to be a whole number of at least 0, got {show!r} instead")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise KitError(f"expected the threshold to be a share between 0 and 1, got {threshold!r} instead")
    release = release_dir(course)
    if not release.is_dir():
        raise KitError(f"expected the release in {release}, found none; run `python -m kit release` first")
    if known is not None and not Path(known).is_dir():
        raise KitError(f"expected --known to be a folder of known solutions, got {known} instead")
    base = [Path(b) for b in base]
    for folder in base:
        if not folder.is_dir():
            raise KitError(f"expected --base to be a folder of starter code, got {folder} instead")
    students = submission_folders(course)
    if not students:
        raise KitError(f"no submissions under {course / 'submitted'} or {course / 'autograded'}; "
                       f"run `python -m kit collect` first")
    base_texts, base_notes = [given_code()], []
    for folder in base:
        base_texts += base_code(folder, base_notes)
    given = read_release(release)
    given = dataclasses.replace(given, base_lines=base_lines(base_texts + [given.text]))
    documents = [student_document(name, folder, given) for name, folder in students.items()]
    known_documents = known_solutions(Path(known), given) if known is not None else []
    boilerplate = boilerplate_hashes("\n\n".join([given.text] + base_texts), noise)
    pairs = compare(documents, known_documents, boilerplate, noise, guarantee)
    listed = [p for p in pairs if p.score >= threshold]

    out = Path(out) if out is not None else course / "similarity"
    out.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = out / "similarity.html", out / "similarity.csv"
    everything = documents + known_documents
    if base_notes:
        everything.append(Document(name="--base", kind="base", notes=base_notes))
    left_out = pairs[len(listed):]
    write_csv(csv_path, listed, left_out, threshold)
    html_path.write_text(render_html(listed, left_out, everything, show, threshold, len(base)),
                         encoding="utf-8")
    if verbose:
        print_top(listed, left_out, everything, threshold)
        print(f"Similarity: {html_path} and {csv_path}")
    return {"pairs": pairs, "listed": listed, "documents": everything, "html": html_path, "csv": csv_path}


# -- reading ---------------------------------------------------------------------------

def submission_folders(course):
    """{student: assignment folder}: what they handed in (submitted/), else what was graded."""
    found = {}
    for root in (course / "autograded", course / "submitted"):   # submitted/ wins
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

def fingerprint(text, noise, guarantee, boilerplate=None):
    """copydetect's fingerprint of `text`, without the `boilerplate` hashes."""
    from copydetect import CodeFingerprint
    # The text is handed over as a stream: copydetect opens no file; "code.py" only picks the lexer.
    return CodeFingerprint("code.py", k=noise, win_size=guarantee - noise + 1, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(text))


def boilerplate_hashes(text, noise):
    """Every fingerprint of the release's code (all of them: a window of 1), as copydetect takes them."""
    import numpy as np
    return np.unique(np.array(sorted(fingerprint(text, noise, noise).hashes), dtype=np.int64))


def compare(documents, known_documents, boilerplate, noise, guarantee):
    """Every student with every other student and with every known solution; the pairs
    with any match, best first."""
    from copydetect import compare_files
    if guarantee < noise:
        raise KitError(f"expected the guarantee threshold to be at least the noise threshold "
                       f"({noise}), got {guarantee} instead")
    prints = {id(d): fingerprint(d.text, noise, guarantee, boilerplate) for d in documents + known_documents}
    candidates = [(a, b) for i, a in enumerate(documents) for b in documents[i + 1:]]
    candidates += [(a, b) for a in documents for b in known_documents]
    pairs = []
    for a, b in candidates:
        tokens, (sim_a, sim_b), (slices_a, slices_b) = compare_files(prints[id(a)], prints[id(b)])
        if tokens > 0:
            pairs.append(Pair(a, b, float(sim_a), float(sim_b), int(tokens),
                              ranges(slices_a), ranges(slices_b)))
    pairs.sort(key=lambda p: (-p.score, -p.tokens, p.a.name, p.b.name))
    return pairs


def ranges(slices):
    """copydetect's 2xN array of slice starts and ends as sorted [(start, end)]."""
    return sorted((int(s), int(e)) for s, e in zip(slices[0], slices[1]))


def line_ranges(text, slices):
    """Matching regions as 1-based line ranges, e.g. "12-30 41-41"."""
    def line(pos):
        return text.count("\n", 0, pos) + 1
    return " ".join(f"{line(s)}-{line(max(s, e - 1))}" for s, e in slices)


# -- reporting -------------------------------------------------------------------------

CSV_HEADER = ["rank", "a", "b", "kind", "similarity_a_percent", "similarity_b_percent",
              "matching_tokens", "a_lines", "b_lines"]


def left_out_line(left_out, threshold):
    """How many pairs the threshold left out, and the best of them."""
    if not left_out:
        return f"No pair was left out: every pair with a match scores at least {100 * threshold:.0f}%."
    return (f"{len(left_out)} pairs scoring below the threshold of {100 * threshold:.0f}% are left out "
            f"(the best of them scores {100 * left_out[0].score:.1f}%).")


def write_csv(path, listed, left_out, threshold):
    """The listed pairs, ranked; then one row whose rank is empty saying how many were left out."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        for rank, p in enumerate(listed, 1):
            writer.writerow([spreadsheet_safe(v) for v in [
                rank, p.a.name, p.b.name, p.b.kind, f"{100 * p.similarity_a:.1f}",
                f"{100 * p.similarity_b:.1f}", p.tokens,
                line_ranges(p.a.text, p.slices_a), line_ranges(p.b.text, p.slices_b)]])
        writer.writerow(["", left_out_line(left_out, threshold)] + [""] * (len(CSV_HEADER) - 2))


def print_top(listed, left_out, documents, threshold, count=10):
    print(f"Compared {sum(d.kind == 'student' for d in documents)} submissions and "
          f"{sum(d.kind == 'known' for d in documents)} known solutions; "
          f"{len(listed)} pairs score at least {100 * threshold:.0f}%")
    for p in listed[:count]:
        print(f"  {100 * p.score:5.1f}%  {printable(p.a.name)}  ~  {printable(p.b.name)}  ({p.tokens} tokens)")
    print(left_out_line(left_out, threshold))


STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }
.sides { display: flex; gap: 1em; }
.side { flex: 1; min-width: 0; overflow-x: auto; }
pre { background: #f7f7f7; padding: 0.5em; font-size: 85%; }
mark { background: #ffd27f; }
.gap { color: #888; }
"""
# No script may run, nothing may load: the page is student text shown to an instructor.
POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def esc(text):
    return html.escape(str(text), quote=True)


def render_side(text, slices):
    """The lines of `text` around its matching regions, numbered, the regions marked;
    other lines become one "..." line. Everything escaped."""
    lines = text.splitlines(keepends=True)
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line)
    touched = set()
    for s, e in slices:
        first = text.count("\n", 0, s)
        last = text.count("\n", 0, max(s, e - 1))
        touched.update(range(max(0, first - CONTEXT), min(len(lines), last + CONTEXT + 1)))
    out, skipped = [], False
    for number, line in enumerate(lines):
        if number not in touched:
            skipped = True
            continue
        if skipped:
            out.append('<span class="gap">...</span>\n')
            skipped = False
        start, end = starts[number], starts[number] + len(line)
        cuts = sorted({start, end} | {min(max(x, start), end) for s, e in slices for x in (s, e)})
        pieces = []
        for lo, hi in zip(cuts, cuts[1:]):
            piece = esc(text[lo:hi].rstrip("\n"))
            inside = any(s <= lo and hi <= e for s, e in slices)
            pieces.append(f"<mark>{piece}</mark>" if inside and piece else piece)
        out.append(f"{number + 1:5d}  {''.join(pieces)}\n")
    if skipped:
        out.append('<span class="gap">...</span>\n')
    return "".join(out)


def render_html(pairs, left_out, documents, show, threshold, bases):
    rows = "".join(
        f"<tr><td>{rank}</td><td>{link(rank, show)}{esc(p.a.name)}{'</a>' if rank <= show else ''}</td>"
        f"<td>{esc(p.b.name)}</td><td>{100 * p.similarity_a:.1f}%</td><td>{100 * p.similarity_b:.1f}%</td>"
        f"<td>{p.tokens}</td></tr>\n"
        for rank, p in enumerate(pairs[:MAX_TABLE_ROWS], 1))
    if len(pairs) > MAX_TABLE_ROWS:
        rows += f"<tr><td colspan=\"6\">... and {len(pairs) - MAX_TABLE_ROWS} more pairs in the CSV</td></tr>\n"
    sections = "".join(
        f'<h2 id="pair-{rank}">{rank}. {esc(p.a.name)} ({100 * p.similarity_a:.1f}%) and '
        f"{esc(p.b.name)} ({100 * p.similarity_b:.1f}%)</h2>\n"
        f'<div class="sides"><div class="side"><h3>{esc(p.a.name)}</h3><pre>{render_side(p.a.text, p.slices_a)}</pre></div>'
        f'<div class="side"><h3>{esc(p.b.name)}</h3><pre>{render_side(p.b.text, p.slices_b)}</pre></div></div>\n'
        for rank, p in enumerate(pairs[:show], 1))
    notes = "".join(f"<li>{esc(d.name)}: {esc(note)}</li>\n" for d in documents for note in d.notes)
    students = sum(d.kind == "student" for d in documents)
    known = sum(d.kind == "known" for d in documents)
    base = f" and in the {bases} --base folders" if bases else ""
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
            f"<title>Similarity: {esc(ASSIGNMENT)}</title><style>{STYLE}</style></head><body>\n"
            f"<h1>Similarity of the submissions of {esc(ASSIGNMENT)}</h1>\n"
            f"<p>{students} submissions compared with each other and with {known} known solutions; "
            f"code from the release, the import lines and the given naive SVM loop of every edition "
            f"of the course{base} never counts. "
            f"A percentage is the share of that side's own code found in the other; a pair is "
            f"listed when one side reaches {100 * threshold:.0f}% "
            f"({len(pairs)} pairs; {len(left_out)} below that left out). "
            f"Similar code is a reason to look, not proof of copying.</p>\n"
            + (f"<h2>Read with care</h2><ul>{notes}</ul>\n" if notes else "")
            + f"<table><tr><th>rank</th><th>a</th><th>b</th><th>a in b</th><th>b in a</th>"
              f"<th>matching tokens</th></tr>\n{rows}</table>\n"
              f"<p>{esc(left_out_line(left_out, threshold))}</p>\n"
            + (sections or f"<p>No pair reaches {100 * threshold:.0f}%.</p>\n")
            + "</body></html>\n")


def link(rank, show):
    return f'<a href="#pair-{rank}">' if rank <= show else ""
