"""A hostile submission, graded by the kit, looked at in a real browser where it would hurt.

The student's written answers carry HTML, script, SVG, iframe, Mermaid and javascript:/data:
link payloads, an extra raw cell is text/html, an attachment is an SVG with a script, and their
own code cell (which the grader's kernel runs) displays JavaScript, HTML, SVG, Markdown, LaTeX,
widget and forged-image outputs; their module displays HTML when imported, so test cells carry
it too. Every payload, should it run, marks the window and PUTs a file through the Jupyter REST
API with the instructor's session and XSRF cookie (browser_helpers.payload_js).

The kit grades it (notebooks run), writes its feedback, and a Jupyter server with nbgrader's
formgrader serves the course folder as an instructor would (`cd course && jupyter lab`).
Headless Chromium opens formgrader's page of each graded notebook and the feedback HTML; no
payload may run: no mark, no file written, no dialog, and nothing in the page the browser
built that could run one. Screenshots go to test-output/browser/grading-*.png.
Needs /usr/bin/chromium, Playwright for Python and the CIFAR-10 subset; skips, saying so, without.
"""
import json
import subprocess
import sys
import time

import pytest

from browser_helpers import (UI_TIMEOUT, JupyterServer, browser_skip_reason, copy_to,
                             hostile_display_code, hostile_markdown, launch_chromium, live_dangers,
                             payload, payloads_that_ran, HOSTILE_SVG, TINY_PNG_B64, _b64)
from kit.course import ASSIGNMENT, Course
from kit.notebook_rules import NOTEBOOKS
from kit_helpers import REPO, collect_all, grade, make_course, notebook, save_notebook, untouched_submission

pytestmark = pytest.mark.slow
OUTPUT_DIR = REPO / "test-output" / "browser"
STUDENT = "mallory"
ANSWER_MARK = "HOSTILE ANSWER"
SETTLE_SECONDS = 3  # after the page loaded: time for onerror handlers and fetches to fire


def answer_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "markdown"
            and c["metadata"].get("nbgrader", {}).get("solution") and c["metadata"]["nbgrader"].get("grade")]


def make_hostile_submission(course, folder):
    """The untouched release with every payload put where a student can put it."""
    untouched_submission(course, folder)
    nb = notebook(folder, "svm.ipynb")
    answers = answer_cells(nb)
    attacks = hostile_markdown()
    for i, cell in enumerate(answers):
        mine = [text for j, (_, text) in enumerate(attacks) if j % len(answers) == i]
        cell["source"] = "\n\n".join([f"**{ANSWER_MARK} {i}**"] + mine)
    code = next(c for c in nb["cells"] if c["cell_type"] == "code"
                and c["metadata"].get("nbgrader", {}).get("solution"))
    code["source"] = hostile_display_code()
    raw = {"cell_type": "raw", "metadata": {"format": "text/html", "raw_mimetype": "text/html"},
           "source": '<img src=x onerror="%s">' % payload("raw-html"), "id": "hostile-raw"}
    attached = {"cell_type": "markdown", "metadata": {}, "id": "hostile-attachments",
                "source": "![plot](attachment:plot.png) ![evil](attachment:evil.svg)",
                "attachments": {"plot.png": {"image/png": TINY_PNG_B64},
                                "evil.svg": {"image/svg+xml": _b64(HOSTILE_SVG % payload("attachment-svg"))}}}
    nb["cells"] += [raw, attached]
    save_notebook(folder, "svm.ipynb", nb)
    module = folder / "classifiers" / "linear_svm.py"
    module.write_text(
        "try:\n    from IPython.display import display as _display\n"
        "    _display({'text/html': %r}, raw=True)\nexcept Exception:\n    pass\n"
        % ('<img src=x onerror="%s">' % payload("module-html")) + module.read_text())
    return folder


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, cifar10_dir):
    skip = browser_skip_reason()
    if skip:
        print(skip)
        pytest.skip(skip)
    root = tmp_path_factory.mktemp("browser-grading")
    course = make_course(root)
    collect_all(course, [make_hostile_submission(course, root / "subs" / STUDENT)])
    result = grade(course, [STUDENT], cifar10_dir, run_notebooks=True, jobs=1, cell_timeout=30,
                   submission_timeout=600)[STUDENT]
    proc = subprocess.run([sys.executable, "-m", "kit", "feedback", "--course", str(course), STUDENT],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, "kit feedback failed:\n" + proc.stdout + proc.stderr
    graded_svm = json.loads(result.notebooks["svm.ipynb"].graded)
    ran = [c for c in graded_svm["cells"] if c["cell_type"] == "code" and c.get("outputs")
           and c["metadata"].get("nbgrader", {}).get("solution")]
    assert ran, "the grader did not run the student's code cell: nothing to show in formgrader"
    return course


@pytest.fixture(scope="module")
def formgrader(graded_course, tmp_path_factory):
    """Jupyter (lab) with nbgrader's server extensions, started in the course folder as an
    instructor does, so formgrader reads the course's nbgrader_config.py."""
    state = tmp_path_factory.mktemp("jupyter-state")
    log = state / "grading-jupyter.log"
    server = JupyterServer("lab", graded_course, state, log)
    try:
        with server:
            yield server
    finally:
        copy_to([log], OUTPUT_DIR)


@pytest.fixture(scope="module")
def browser(formgrader, tmp_path_factory):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        context = launch_chromium(pw, tmp_path_factory.mktemp("chromium-profile"))
        context.set_default_timeout(UI_TIMEOUT)
        context.set_default_navigation_timeout(UI_TIMEOUT)
        try:
            yield context
        finally:
            context.close()


def submission_ids(course):
    with Course(course).gradebook() as gb:
        return {nb: gb.find_submission_notebook(nb.replace(".ipynb", ""), ASSIGNMENT, STUDENT).id
                for nb in NOTEBOOKS}


def pwned_files(course, server):
    on_disk = sorted(str(p.relative_to(course)) for p in course.rglob("pwned-*"))
    listed = sorted(item["name"] for item in server.api("GET", "api/contents")["content"]
                    if item["name"].startswith("pwned-"))
    return on_disk + listed


# Where the screenshots look: the feedback's score table, the first hostile answer, the
# student's code cell's outputs.
SHOTS = (("Autograded score", "scores"), (ANSWER_MARK + " 0", "answers"),
         ("removed by the grader", "outputs"))


def visit(context, url, container, shot):
    """Open `url` in a fresh page; return (payload marks, dangers, dialogs, page text).
    Screenshots: OUTPUT_DIR/<shot>-<place>.png for each place of SHOTS the page shows."""
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_selector(container, state="attached")
        time.sleep(SETTLE_SECONDS)
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        for text, place in SHOTS:
            found = page.get_by_text(text).first
            if found.count():
                found.scroll_into_view_if_needed()
                page.mouse.move(400, 300)  # hover handlers, for what they are worth
                time.sleep(0.5)
                page.screenshot(path=str(OUTPUT_DIR / ("%s-%s.png" % (shot, place))))
        return payloads_that_ran(page), live_dangers(page, container), dialogs, page.inner_text("body")
    finally:
        page.close()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_formgrader_shows_the_hostile_submission_inert(graded_course, formgrader, browser, name):
    for stale in OUTPUT_DIR.glob("grading-*-%s-*.png" % name.replace(".ipynb", "")):
        stale.unlink()
    login = browser.new_page()
    login.goto(formgrader.url("formgrader", token=True))  # the token logs in; formgrader sets _xsrf
    login.close()
    sid = submission_ids(graded_course)[name]
    url = formgrader.url("formgrader/submissions/%s/" % sid)
    ran, dangers, dialogs, text = visit(browser, url, "#notebook-container",
                                        "grading-formgrader-" + name.replace(".ipynb", ""))
    time.sleep(1)
    files = pwned_files(graded_course, formgrader)
    assert not (ran or files or dialogs), (
        "payloads ran in formgrader: %s; files they wrote through the Jupyter REST API: %s; "
        "dialogs: %s" % (ran, files, dialogs))
    assert dangers == [], "formgrader's page holds live payloads:\n" + "\n".join(dangers)
    assert "Student's answer" in text  # formgrader rendered the submission, not an error page
    if name == "svm.ipynb":
        assert ANSWER_MARK + " 0" in text, "the student's answers are not shown"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_feedback_shows_the_hostile_submission_inert(graded_course, formgrader, browser, name):
    page_file = Course(graded_course).feedback(STUDENT) / name.replace(".ipynb", ".html")
    ran, dangers, dialogs, text = visit(browser, page_file.as_uri(), "main",
                                        "grading-feedback-" + name.replace(".ipynb", ""))
    assert not (ran or dialogs), "payloads ran in the feedback: %s; dialogs: %s" % (ran, dialogs)
    assert dangers == [], "the feedback holds live payloads:\n" + "\n".join(dangers)
    assert "Autograded score" in text
    if name == "svm.ipynb":
        assert ANSWER_MARK + " 0" in text, "the student's answers are not shown"
    assert pwned_files(graded_course, formgrader) == []
