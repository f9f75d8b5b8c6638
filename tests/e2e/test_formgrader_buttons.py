"""An instructor grades with formgrader's buttons in a real browser, on a course the kit released.

`python -m kit release` writes a course nbgrader_config.py that puts the kit's grading into
nbgrader's autograde and generate_feedback, so formgrader's buttons grade and hand back as
`python -m kit` does. Headless Chromium (the system one, through Playwright) on a Jupyter
server at 127.0.0.1 serving the course folder, as `cd course && jupyter lab` does:

1. Manage Submissions: Autograde an honest submission (the reference solution) and a
   hostile one (copies the hidden tests' reference code from the kernel; its written
   answer holds HTML payloads). Formgrader shows, and the gradebook holds, the kit's scores.
2. The honest student's svm notebook in the grading view: a hand score for one written
   answer; it reaches the gradebook and `grades.csv` (its column and the `manual` total).
3. Manage Assignments: Generate Feedback, then Release Feedback. No line of a solution or
   hidden test is in any feedback file (course/feedback and the exchange), and the hostile
   answer's payloads are not live tags in its feedback.

A screenshot of each step: test-output/browser/formgrader-*.png, with the server's log.
Needs /usr/bin/chromium, Playwright for Python, a bubblewrap sandbox and the CIFAR-10
subset; skips, saying why, without.
"""
import csv
import html
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from browser_helpers import (JupyterServer, browser_skip_reason, close_formgrader_modal, copy_to,
                             formgrader_action, formgrader_row, hostile_markdown, launch_chromium,
                             wait_for_formgrader_table, UI_TIMEOUT)
from kit import sandbox
from kit.course import ASSIGNMENT, Course
from kit.notebook_rules import NOTEBOOKS
from kit.release import secret_lines
from kit_helpers import (REPO, collect_all, gradebook_grades, grade, make_course, notebook, reference_submission,
                         save_notebook, scores, total, untouched_submission)
from payloads import STEAL_REFERENCE, append

pytestmark = pytest.mark.slow
OUTPUT_DIR = REPO / "test-output" / "browser"
HONEST, HOSTILE = "fg_honest", "fg_hostile"
STUDENTS = (HONEST, HOSTILE)
WRITTEN = "q_svm_weights"   # the written answer (svm.ipynb, 3 points) graded by hand
HAND_SCORE = 2
HOSTILE_MARK = "FG HOSTILE ANSWER"
ACTION_TIMEOUT = 90_000     # ms: one button's nbgrader command (the server answers when done)
BUDGET = 240                # s for the whole test; each button waits at most what is left of it


def skip_reason():
    reason = browser_skip_reason()
    if reason:
        return reason
    isolated, why_not = sandbox.isolation_status()
    if not isolated:
        return "grading refuses without a sandbox: %s" % why_not
    return None


def shot(page, name):
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT_DIR / ("formgrader-%s.png" % name)))


# --- The course ------------------------------------------------------------------------------

def hostile_submission(course, folder):
    """The untouched release, a module that copies the hidden tests' reference functions out
    of the kernel, and HTML payloads in one written answer."""
    untouched_submission(course, folder)
    append(folder, "linear_svm.py", STEAL_REFERENCE)
    nb = notebook(folder, "svm.ipynb")
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == WRITTEN)
    attacks = [text for tag, text in hostile_markdown() if tag in ("md-script", "md-img", "md-details")]
    cell["source"] = "\n\n".join(["**%s**" % HOSTILE_MARK] + attacks)
    save_notebook(folder, "svm.ipynb", nb)
    return folder


def make_graded_course(root, cifar10_dir):
    """A released course with both submissions collected and graded by the kit; its config set
    for quick button grading. Returns (course, exchange, {student: kit result})."""
    course = make_course(root)
    collect_all(course, [reference_submission(course, root / "subs" / HONEST),
                         hostile_submission(course, root / "subs" / HOSTILE)])
    for student in STUDENTS:  # as `nbgrader submit` leaves it: release_feedback keys on it
        (course / "submitted" / student / ASSIGNMENT / "submission_secret.txt").write_text(student * 3)
    by_kit = grade(course, list(STUDENTS), cifar10_dir, run_notebooks=False, submission_timeout=120)
    exchange = root / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader wants a world-writable exchange
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\n# test_formgrader_buttons: quick button grading, a private exchange\n"
                     "c.KitGrading.tests_only = True\n"
                     "c.KitGrading.cell_timeout = 30.0\n"
                     "c.KitGrading.submission_timeout = 60.0\n"
                     "c.KitGrading.data_dir = %r\n"
                     "c.Exchange.root = %r\n" % (str(cifar10_dir), str(exchange)))
    return course, exchange, by_kit


def gradebook_scores(course):
    """{student: {grade_id: (auto_score, manual_score)}} as the gradebook holds them now."""
    return {s: {gid: (g["auto_score"], g["manual_score"]) for gid, g in cells.items()}
            for s, cells in gradebook_grades(course, STUDENTS).items()}


def code_cells(course):
    from nbgrader.api import Gradebook
    with Gradebook(Course(course).gradebook_url, Course(course).coursedir().course_id) as gb:
        return {c.name for nb in NOTEBOOKS for c in gb.find_notebook(nb.replace(".ipynb", ""), ASSIGNMENT).grade_cells
                if c.cell_type == "code"}


# --- What the feedback must not hold -----------------------------------------------------------

def leaks(files, secrets, skip_student):
    """{path: [secret lines]} of every file holding a whole line of the solution or of a
    hidden test (HTML: the text a browser shows). The honest student's own files are the
    solution: skipped, also where release_feedback put them in the exchange (by content)."""
    own = {p.read_bytes() for p in files if skip_student in p.parts}
    found = {}
    for path in files:
        if skip_student in path.parts or path.read_bytes() in own:
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".html":
            text = html.unescape(re.sub(r"<[^>]*>", "", text))
        hit = secrets & {line.strip() for line in text.splitlines()}
        if hit:
            found[str(path)] = sorted(hit)[:3]
    return found


class LiveTags(HTMLParser):
    """Tags an HTML page builds that could run a payload: on* attributes, scripts whose code
    is a payload's (eval(atob(...))), iframes, objects, javascript: links."""

    def __init__(self):
        super().__init__()
        self.found, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append("<%s %s=%r>" % (tag, name, (value or "")[:60]))
        if tag in ("iframe", "object", "embed"):
            self.found.append("<%s>" % tag)

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and ("atob(" in data or "pwned" in data):
            self.found.append("<script>%s" % data.strip()[:60])


def live_tags(text):
    parser = LiveTags()
    parser.feed(text)
    return parser.found


# --- The test ----------------------------------------------------------------------------------

def test_formgrader_buttons_grade_and_hand_back_as_the_kit(tmp_path, cifar10_dir):
    reason = skip_reason()
    if reason:
        print(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    timings = {}
    course, exchange, by_kit = make_graded_course(tmp_path, cifar10_dir)
    kit_totals = {s: total(r)[0] for s, r in by_kit.items()}
    full = total(by_kit[HONEST])[1]   # the reference: every autograded point
    assert full > 0 and kit_totals == {HONEST: full, HOSTILE: 0}, kit_totals
    timings["kit grading"] = time.monotonic() - started
    for stale in OUTPUT_DIR.glob("formgrader-*"):
        stale.unlink()
    graded_before = {s: (Course(course).autograded(s) / "svm.ipynb").stat().st_mtime_ns for s in STUDENTS}

    log = tmp_path / "jupyter-state" / "formgrader-jupyter.log"
    server = JupyterServer("lab", course, tmp_path / "jupyter-state", log)
    try:
        with server, sync_playwright() as pw:
            context = launch_chromium(pw, tmp_path / "chromium-profile")
            context.set_default_timeout(UI_TIMEOUT)
            context.set_default_navigation_timeout(UI_TIMEOUT)
            try:
                page = context.new_page()
                dialogs, errors = [], []
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                page.on("pageerror", lambda err: errors.append(str(err)))
                run_in_formgrader(page, server, course, by_kit, graded_before, timings,
                                  deadline=started + BUDGET)
                assert dialogs == [], "dialogs opened: %s" % dialogs
                # The one script error: the grading page's MathJax (a CDN, unreachable here).
                assert set(errors) <= {"MathJax is not defined"}, errors
            finally:
                context.close()
    finally:
        copy_to([log], OUTPUT_DIR)

    check_feedback(course, exchange)
    timings["total"] = time.monotonic() - started
    print("timings (s): " + ", ".join("%s %.0f" % kv for kv in timings.items()))


def run_in_formgrader(page, server, course, by_kit, graded_before, timings, deadline):
    from playwright.sync_api import expect

    def action_timeout():
        left = (deadline - time.monotonic()) * 1000
        assert left > 0, "out of time (%d s for the whole test)" % BUDGET
        return min(ACTION_TIMEOUT, left)

    t0 = time.monotonic()
    # The token logs in (a cookie) and formgrader sends us to Manage Assignments.
    page.goto(server.url("formgrader", token=True))
    expect(page).to_have_url(re.compile(r"/formgrader/manage_assignments$"))
    wait_for_formgrader_table(page)
    assignment = formgrader_row(page, "name", ASSIGNMENT)
    expect(assignment.locator("td.num-submissions")).to_have_text("2")
    shot(page, "0-manage-assignments")

    # 1. Manage Submissions (the submission count links there): Autograde each student.
    assignment.locator("td.num-submissions a").click()
    expect(page).to_have_url(re.compile(r"/formgrader/manage_submissions/%s$" % ASSIGNMENT))
    wait_for_formgrader_table(page)
    for student in STUDENTS:
        t = time.monotonic()
        row = formgrader_row(page, "student-id", student)
        title, text, modal = formgrader_action(page, row.locator("td.autograde a"), action_timeout())
        shot(page, "1-autograde-%s" % student)
        assert title == "Success", "formgrader's Autograde failed for %s:\n%s" % (student, text[-4000:])
        close_formgrader_modal(page, modal)
        timings["autograde " + student] = time.monotonic() - t
    shown = {}
    for student in STUDENTS:
        row = formgrader_row(page, "student-id", student)
        expect(row.locator("td.status")).to_have_text("needs manual grading")  # written answers
        expect(row.locator("td.score")).to_have_text(re.compile(r"^\S+ / \S+$"))
        shown[student] = row.locator("td.score").inner_text().strip()
    shot(page, "1-autograded")
    print("formgrader shows: %s" % shown)
    # Graded again by the button (nbgrader autograde --force), not left from the kit's run.
    for student in STUDENTS:
        graded = Course(course).autograded(student) / "svm.ipynb"
        assert graded.stat().st_mtime_ns > graded_before[student], "%s was not regraded" % student
    code = code_cells(course)
    in_gradebook = gradebook_scores(course)
    for student, result in by_kit.items():
        autos = {gid: auto for gid, (auto, _) in in_gradebook[student].items() if gid in code}
        assert autos == scores(result), student
        hand_max = result.totals("manual")[1]
        assert shown[student] == "%g / %g" % (total(result)[0], total(result)[1] + hand_max), student

    # 2. The honest student's svm notebook in the grading view: a hand score for WRITTEN.
    t = time.monotonic()
    formgrader_row(page, "student-id", HONEST).locator("td.student-name a").click()
    expect(page).to_have_url(re.compile(r"/formgrader/manage_students/%s/%s$" % (HONEST, ASSIGNMENT)))
    wait_for_formgrader_table(page)
    formgrader_row(page, "name", "svm").locator("td.name a").click()
    expect(page).to_have_url(re.compile(r"/formgrader/submissions/[0-9a-f]+/$"))
    # The page has bound its score inputs once it has fetched the grades and comments.
    page.wait_for_function("() => window.formgrader && formgrader.grades && formgrader.grades.loaded"
                           " && formgrader.comments && formgrader.comments.loaded", timeout=UI_TIMEOUT)
    # Maths typeset offline: MathJax came from this Jupyter server (this browser reaches no
    # CDN), and formgrader's own init, which waits for MathJax, finished (issue 25).
    page.wait_for_function("() => window.MathJax && MathJax.Hub && document.querySelector('.MathJax_CHTML, "
                           ".MathJax, .MathJax_Display') && window.formgrader && formgrader.loaded",
                           timeout=UI_TIMEOUT)
    mathjax = page.evaluate("() => Array.from(document.scripts).map(s => s.src).filter(s => /MathJax/.test(s))")
    assert mathjax and all("/static/jupyter_server_mathjax/" in src for src in mathjax), mathjax
    score_box = page.locator("input.score#" + WRITTEN)
    score_box.evaluate("box => box.closest('.nbgrader_cell').scrollIntoView({block: 'center'})")
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url
                              and r.request.method == "PUT") as saved:
        score_box.fill(str(HAND_SCORE))
        score_box.press("Tab")  # leaving the box saves it (its change event)
    assert saved.value.ok, "saving the hand score: HTTP %s" % saved.value.status
    expect(score_box).to_have_value(str(HAND_SCORE))
    shot(page, "2-hand-score")
    assert gradebook_scores(course)[HONEST][WRITTEN][1] == HAND_SCORE
    from kit import grades
    report = grades.write_reports(course, plot=False)
    rows = {r["student"]: r for r in csv.DictReader(report.read_text().splitlines())}
    assert rows[HONEST][WRITTEN] == str(HAND_SCORE) and rows[HONEST]["manual"] == str(HAND_SCORE), rows[HONEST]
    assert rows[HONEST]["auto"] == "%g" % total(by_kit[HONEST])[1] and rows[HOSTILE]["auto"] == "0", rows
    # The hostile answer waits for a hand score (nbgrader gives unchanged answers 0).
    assert rows[HOSTILE][WRITTEN] == "" and rows[HOSTILE]["manual"] == "0", rows[HOSTILE]
    timings["hand score"] = time.monotonic() - t

    # 3. Manage Assignments: Generate Feedback, then Release Feedback (every student).
    t = time.monotonic()
    page.goto(server.url("formgrader/manage_assignments"))
    wait_for_formgrader_table(page)
    for column, step in (("generate-feedback", "3-generate-feedback"), ("release-feedback", "4-release-feedback")):
        link = formgrader_row(page, "name", ASSIGNMENT).locator("td.%s a" % column)
        title, text, modal = formgrader_action(page, link, action_timeout())
        shot(page, step)
        assert title == "Success", "formgrader's %s failed:\n%s" % (column, text[-4000:])
        close_formgrader_modal(page, modal)
        wait_for_formgrader_table(page)
    timings["feedback"] = time.monotonic() - t
    timings["in formgrader"] = time.monotonic() - t0


def check_feedback(course, exchange):
    generated = sorted(p.relative_to(course / "feedback") for p in (course / "feedback").rglob("*.html"))
    assert generated == sorted(Path(s, ASSIGNMENT, nb.replace(".ipynb", ".html"))
                               for s in STUDENTS for nb in NOTEBOOKS), generated
    released = sorted((exchange / Course(course).coursedir().course_id / "feedback").glob("*.html"))
    assert sorted(p.read_bytes() for p in released) == sorted(
        (course / "feedback" / p).read_bytes() for p in generated), "released is not what was generated"
    secrets = secret_lines(Course(course).source)
    assert len(secrets) > 50, "expected the source to hold solution and hidden-test lines"
    files = [p for folder in (course / "feedback", exchange) for p in folder.rglob("*") if p.is_file()]
    assert leaks(files, secrets, HONEST) == {}
    hostile_svm = (course / "feedback" / HOSTILE / ASSIGNMENT / "svm.html").read_text()
    assert HOSTILE_MARK in hostile_svm, "the hostile answer is not in its feedback"
    assert live_tags(hostile_svm) == [], "live payloads in the hostile student's feedback"
    honest_svm = (course / "feedback" / HONEST / ASSIGNMENT / "svm.html").read_text()
    assert re.search(r'href="#%s">[^<]*</a>\s*\(Score: %.1f / 3\.0\)' % (WRITTEN, HAND_SCORE), honest_svm), \
        "the hand score is not in the honest student's feedback"
