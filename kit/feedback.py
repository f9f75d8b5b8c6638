"""`python -m kit feedback`: feedback HTML per graded notebook, showing only what the kit says.

Run after `kit autograde` and after any grading by hand in formgrader: the scores come
from nbgrader's gradebook as they stand (hand-given scores and comments included), the
notebooks from course/autograded, and the HTML goes to course/feedback/<student>/, where
nbgrader's own release_feedback finds it.

A test cell runs hidden tests in the student's process, so anything that process sent
back (printed text, an exception's message, a traceback, any rich output) can carry
hidden-test source that student code read from the kernel. Here a test cell shows its
visible source and ONE output: the plain-text lines the grader wrote for it (`feedback`
in grading.json, see kit/verdicts.py). Every other cell goes through kit/sanitize.py (no
student HTML, script or live link), and nbconvert renders with `sanitize_html` on and the
markdown-aware allowlist `clean_html` below as a second line of defence.

The page is in the course's language (the release's, kit/phrases.py): the kit's stored
English lines are translated as the page is rendered, and every graded cell is named as
the student saw it in the released notebook (a question's name, a test's first comment:
utils/cell_names.py), never by its grade_id.
"""
import contextlib
import functools
from dataclasses import replace

import nbformat
from nbgrader.api import MissingEntry

from . import cells, grades, late, phrases, score_store, verdicts
from .i18n import DEFAULT_LANGUAGE
from .pools import process_pool
from .phrases import N_
from .sanitize import graded_notebook, markdown_text, safe_url, unused_id, url_scheme
from .course import ASSIGNMENT, Course, choose_students
from .score_store import summary_paths, write_folder
from .scores import AUTO, MANUAL, totals
from .lock import course_lock
from .notebook_rules import NOTEBOOKS, notebook_id

# What nbconvert's templates may emit for a sanitized notebook once rendered: markdown's
# tags, Pygments' highlighted code, images as data URLs (sanitize keeps PNG/JPEG only).
# nbconvert's own clean_html (what sanitize_html applies) knows a dozen tags and would
# print every <p>, <h1> and <table> of the page as text.
HTML_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "li", "ol", "p", "pre",
    "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"})
DATA_IMAGES = ("data:image/png;base64,", "data:image/jpeg;base64,")


def visible_source(source):
    """The test cell as released: lines between the hidden-test markers removed."""
    lines = source.splitlines()
    return "\n".join(line for line, hidden in zip(lines, verdicts.hidden_flags(lines)) if not hidden)


def feedback_lines(score):
    """The kit's own lines for one autograded cell: its `feedback`, else passed/failed from the score.

    Inputs: score, the cell's CellScore (grading.json's, the gradebook applied; None when
    the cell has none).
    Returns: a list of plain-text lines.
    """
    if score is not None and score.feedback and all(isinstance(line, str) for line in score.feedback):
        return list(score.feedback)
    if score is None or score.score is None:
        return [N_("not graded")]
    return [N_("passed")] if score.passed else [N_("failed")]


def sanitize(nb, scores=None, lang=DEFAULT_LANGUAGE):
    """A copy of a graded notebook fit to hand back.

    Inputs: nb, a graded notebook (NotebookNode); scores, {grade_id: CellScore} of that
    notebook (grading.json, gradebook applied); lang, the language of the kit's lines.
    Returns: the notebook through sanitize.graded_notebook, each test cell cut to its
    visible source with one stream output holding feedback_lines() in `lang`; nothing of
    what the student's process sent in a test cell is kept.
    """
    say = phrases.translator(lang)
    handout = graded_notebook(nb)
    for cell in handout.cells:
        if not cells.is_test(cell):
            continue
        score = (scores or {}).get(cells.grade_id(cell))
        lines = say.lines(feedback_lines(score))
        passed = score is not None and score.passed
        cell.source = visible_source(cell.source)
        cell.execution_count = None
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout" if passed else "stderr",
                                               text="\n".join(lines) + "\n")]
    return handout


def table_text(text):
    """Text from the gradebook or the grader (a TA's comment, a note) fit for one table cell:
    one line, "|" escaped, no HTML tag and no live link (sanitize.markdown_text)."""
    return markdown_text(" ".join(str(text).split()).replace("|", "\\|"))


def score_table(scores, problems, late_note=None, names=None, lang=DEFAULT_LANGUAGE):
    """The markdown of the page's first cell: the autograded score, the late note, a row per
    graded cell (named as the student saw it: `names`, {grade_id: name}) and the grader's notes,
    in `lang`."""
    say = phrases.translator(lang)
    got, total = totals(s for s in scores.values() if s.kind == AUTO)
    # (N_ outside f-strings: the catalogue's extractor does not look into them.)
    heads = [say.say(N_("question or test")), say.say(N_("score"))]
    rows = [f"| {heads[0]} | {heads[1]} | |", "|---|---|---|"]
    for gid, s in scores.items():
        score = say.say(N_("pending")) if s.score is None else f"{s.score:g}"
        note = say.text(N_("passed") if s.passed and s.kind == AUTO else
                        N_("failed") if s.kind == AUTO else s.message or "")
        if s.comment:
            note += ": " + s.comment
        name = (names or {}).get(gid) or gid
        rows.append(f"| {table_text(name)} | {score} / {s.max:g} | {table_text(note)} |")
    text = ["# " + say.say(N_("Feedback")) + "\n\n" + say.say(
                N_("Autograded score: **{got} / {total}** (written answers are graded by hand)."),
                got=f"{got:g}", total=f"{total:g}") + "\n",
            *([f"**{table_text(say.text(late_note))}**\n"] if late_note else []), *rows]
    if problems:
        text += ["\n**" + say.say(N_("Notes from the grader:")) + "**\n"] + \
            [f"- {table_text(say.text(p))}" for p in problems]
    return "\n".join(text)


def clean_html(element):
    """nbconvert's clean_html filter with an allowlist that fits a rendered notebook.

    Inputs: an HTML fragment (str or bytes) nbconvert is about to write into the page.
    Returns: the fragment with every other tag escaped (shown as text), no attribute but
    class, heading ids, table alignment, link href/title and image src/alt/size; links
    http(s)/mailto/#anchor, images PNG/JPEG data URLs or http(s).
    """
    text = element.decode() if isinstance(element, bytes) else str(element)
    # Most fragments are the release's own markdown, the same on every student's page:
    # sanitized once per process, not once per page (bleach takes ~25 ms a cell). Only
    # short ones are kept, so the cache stays small whatever students write.
    return _cached_clean(text) if len(text) <= CACHED_FRAGMENT_CHARS else _clean(text)


def _clean(text):
    import bleach
    from bleach.css_sanitizer import CSSSanitizer
    return bleach.clean(text, tags=HTML_TAGS, attributes=allowed_attribute,
                        protocols={"http", "https", "mailto", "data"},
                        css_sanitizer=CSSSanitizer(allowed_css_properties=["text-align"]))


CACHED_FRAGMENT_CHARS = 16 * 1024   # 4096 of them: at most 64 Mi characters held
_cached_clean = functools.lru_cache(maxsize=4096)(_clean)


def allowed_attribute(tag, name, value):
    if name == "class" or (name == "id" and tag in {"h1", "h2", "h3", "h4", "h5", "h6"}):
        return True
    if name == "style":
        return tag in ("td", "th")
    if tag == "a" and name == "href":
        return safe_url(value)
    if tag == "img" and name == "src":
        return value.startswith(DATA_IMAGES) or (url_scheme(value)[0] in ("http", "https") and safe_url(value))
    return (tag, name) in {("a", "title"), ("img", "alt"), ("img", "title"), ("img", "width"),
                           ("img", "height"), ("input", "type"), ("input", "checked"),
                           ("input", "disabled")}


SCORE_TABLE_ID = "kit-score-table"   # a fixed id: the same grades give the same page, byte for byte


def render(nb, scores, problems, late_note=None, names=None, lang=DEFAULT_LANGUAGE):
    """HTML feedback for one notebook in `lang`: a score table naming each graded cell by
    `names` ({grade_id: name}; and the late penalty, if any), then the sanitized notebook."""
    handout = sanitize(nb, scores, lang)
    # Not an instructor cell: its text goes through sanitize's markdown rule (again).
    table = graded_notebook(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(score_table(scores, problems, late_note, names, lang),
                                             id=SCORE_TABLE_ID)])).cells[0]
    # Its own id, unless a student's cell has it already (cell ids must be unique).
    table.id = unused_id(SCORE_TABLE_ID, {cell.get("id") for cell in handout.cells})
    handout.cells.insert(0, table)
    for cell in handout.cells:
        cell.get("metadata", {}).pop("nbgrader", None)
    html, _ = html_exporter().from_notebook_node(handout)
    return html


@functools.lru_cache(maxsize=1)
def html_exporter():
    """One exporter per process: its templates are loaded and compiled once, not per page."""
    from nbconvert import HTMLExporter
    return HTMLExporter(template_name="lab", sanitize_html=True, filters={"clean_html": clean_html})


# ---------------------------------------------------------------- the stage


def run(*, course, students=None, jobs=1, progress=True):
    """Write feedback HTML for the named (or all) graded students; return the folders written."""
    course = Course(course)
    students = graded_students(course, students)
    with course_lock(course, "kit feedback"):   # one writer per course (kit/lock.py)
        return _write_all(course, students, jobs, progress)


def _write_all(course, students, jobs, progress):
    from tqdm import tqdm
    # Feedback shows the final grades (hand grading since included): grades.csv shows them too.
    grades.write_reports(course, table=False)
    edition = {"lang": phrases.course_language(course), "names": cells.released_names(course)}
    with score_store.current_gradebook(course) as gb:
        inputs = [{**handout_inputs(course, gb, student), **edition} for student in students]
    written = []
    # Rendering (nbconvert, with HTML sanitizing) takes seconds per notebook: worth processes.
    with process_pool(jobs, preload=[__name__]) if jobs > 1 else \
            contextlib.nullcontext() as pool:
        pages = pool.map(render_student, inputs) if pool else map(render_student, inputs)
        for student, data, html in tqdm(zip(students, inputs, pages), total=len(students),
                                        desc="Feedback", unit="submission", disable=not progress):
            target = course.feedback(student)
            write_folder(target, html, data["timestamp"])
            written.append(target)
    print(f"Feedback for {len(written)} submission(s): {course.feedback()}")
    return written


def graded_students(course, students):
    root = course.autograded()
    graded = sorted(p.parent.parent.name for p in summary_paths(course))
    return choose_students(students, graded, kind="graded", root=root, first="python -m kit autograde")


def handout_inputs(course, gb, student):
    """Plain data for one student's feedback: notebooks, current scores, grader notes."""
    folder, stored = course.autograded(student), score_store.stored_grading(course, student)
    return {"notebooks": {nb: (folder / nb).read_text() for nb in NOTEBOOKS if (folder / nb).is_file()},
            "scores": gradebook_scores(gb, student, stored.scores), "problems": stored.problems,
            "notebook_problems": stored.notebook_problems,
            "late": {nb: late.feedback_note(gb, student, nb) for nb in NOTEBOOKS},
            "timestamp": stored.timestamp}


def gradebook_scores(gb, student, autograded):
    """The autograder's scores ({notebook: {grade_id: CellScore}}), overridden by what the
    gradebook `gb` holds now (hand grading, graders' comments)."""
    return {nb: {gid: current_score(gb, student, nb, s) for gid, s in sheet.items()}
            for nb, sheet in autograded.items()}


def current_score(gb, student, nb, score):
    """One autograded CellScore with the gradebook's hand score and comment applied."""
    try:
        grade = gb.find_grade(score.grade_id, notebook_id(nb), ASSIGNMENT, student)
    except MissingEntry:
        return score
    if grade.manual_score is not None:
        score = replace(score, score=float(grade.manual_score), message=N_("graded by hand"))
    elif score.kind == MANUAL and score.score is None:
        score = replace(score, message=N_("not graded yet"))
    try:
        return replace(score, comment=gb.find_comment(score.grade_id, notebook_id(nb), ASSIGNMENT, student).comment)
    except MissingEntry:
        return score


def render_student(inputs):
    """{notebook.html: HTML} for one student (runs in a worker process)."""
    pages = {}
    for nb_name, text in inputs["notebooks"].items():
        nb = nbformat.reads(text, as_version=4)
        problems = inputs["problems"] + inputs["notebook_problems"].get(nb_name, [])
        pages[nb_name.replace(".ipynb", ".html")] = render(
            nb, inputs["scores"].get(nb_name, {}), problems, inputs["late"].get(nb_name),
            inputs.get("names", {}).get(nb_name), inputs.get("lang", DEFAULT_LANGUAGE))
    return pages
