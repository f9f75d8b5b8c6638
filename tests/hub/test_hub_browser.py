"""A whole course on a real JupyterHub, in a real browser, with real OS users.

`python -m kit hub` runs the course (shared-password login, each user's server as that OS
user, formgrader as a hub service run by the grader account). Headless Chromium, through
the hub's login page:

1. the instructor releases in formgrader (Manage Assignments: Release);
2. both students fetch in JupyterLab's Assignments tab, fill in their files (alice the
   reference solutions and model answers, bob the SVM loss only) and submit there;
3. the instructor collects and autogrades each submission with formgrader's buttons
   (the kit's sandboxed grading, test cells only);
4. the TA hand-grades one written answer of alice's in formgrader's grading view;
5. the instructor generates and releases feedback;
6. each student fetches feedback in the Assignments tab and reads it in JupyterLab, and
   cannot open the other's.

Checks: the scores formgrader shows and the gradebook holds (alice full marks on the tests,
bob partial, the TA's hand score), and no line of a solution or hidden test in anything a
student can open (their home folder, what their server serves). Screenshots of each step:
test-output/hub-browser/*.png, with the hub's log. Skips, saying why, without root,
useradd, the hub's environment, the proxy, bubblewrap or Chromium.
"""
import json
import re
import time
from pathlib import Path

import pytest

from kit.reference_submission import solved_notebook

from browser_helpers import (UI_TIMEOUT, browser_skip_reason, close_formgrader_modal, formgrader_action,
                             formgrader_row, launch_chromium, wait_for_formgrader_table)
from hub_helpers import ALICE, BOB, INSTRUCTOR, TA, Course, skip_unless_ready

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
OUTPUT_DIR = REPO / "test-output" / "hub-browser"
ASSIGNMENT = "linear_classifiers"
COURSE_ID = "linear_classifiers_course"
WRITTEN = "q_svm_weights"
HAND_SCORE = 2
ACTION_TIMEOUT = 150_000


def shot(page, name):
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT_DIR / f"{name}.png"))


def login(context, hub, user):
    page = context.new_page()
    page.goto(hub.url("hub/login"))
    page.fill("input#username_input", user)
    page.fill("input#password_input", hub.password)
    page.click("#login_submit")
    page.wait_for_url(re.compile(r"/(hub/home|hub/spawn.*|user/.*)$"), timeout=UI_TIMEOUT)
    return page


def open_lab(page, hub, user):
    page.goto(hub.url(f"user/{user}/lab"), timeout=120_000)
    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=120_000)
    page.locator("#jp-main-dock-panel").wait_for(timeout=120_000)


def assignments_tab(page):
    """Nbgrader > Assignment List: the students' Assignments tab."""
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_role("menuitem", name="Assignment List").click()
    page.locator("#nbgrader-assignment-list").wait_for(timeout=UI_TIMEOUT)
    return page


LISTS = {"Fetch": "#released_assignments_list", "Submit": "#fetched_assignments_list",
         "Fetch Feedback": "#submitted_assignments_list"}


def list_button(page, name):
    return page.locator(LISTS[name]).get_by_role("button", name=name, exact=True).first


def click_in_list(page, button, timeout=UI_TIMEOUT):
    list_button(page, button).click(timeout=timeout)


WRITTEN_LINES = {}   # user: the lines of what the test wrote for them (their own work)


def put_file(page, hub, user, path, content):
    """Save a file into the student's folder through their server's contents API (what
    JupyterLab's editor does on save), with the page's own login."""
    WRITTEN_LINES.setdefault(user, set()).update(line.strip() for line in content.splitlines())
    if path.endswith(".ipynb"):
        for cell in json.loads(content)["cells"]:
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            WRITTEN_LINES[user].update(line.strip() for line in source.splitlines())
    xsrf = next((c["value"] for c in page.context.cookies() if c["name"] == "_xsrf"), "")
    is_nb = path.endswith(".ipynb")
    body = {"type": "notebook" if is_nb else "file", "format": None if is_nb else "text",
            "content": json.loads(content) if is_nb else content}
    response = page.request.put(hub.url(f"user/{user}/api/contents/{path}"), data=json.dumps(body),
                                headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"})
    assert response.ok, (path, response.status, response.text()[:500])


def fill_in(page, hub, user, course, full):
    source = course / "source" / ASSIGNMENT
    release = course / "release" / ASSIGNMENT
    files = ["linear_svm.py"] if not full else [p.name for p in (source / "classifiers").glob("*.py")
                                                  if p.name != "__init__.py"]
    for name in files:
        put_file(page, hub, user, f"{ASSIGNMENT}/classifiers/{name}", (source / "classifiers" / name).read_text())
    if full:
        for nb in ("svm.ipynb", "softmax.ipynb"):
            put_file(page, hub, user, f"{ASSIGNMENT}/{nb}", solved_notebook(source / nb, release / nb))


def test_a_course_on_the_hub_in_the_browser(tmp_path, cifar10_dir):
    skip_unless_ready()
    reason = browser_skip_reason()
    if reason:
        print(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    timings, started = {}, time.monotonic()
    hub = Course()
    try:
        password_file = hub.setup(cifar10_dir)
        hub.start(password_file)
        timings["hub up"] = time.monotonic() - started
        with sync_playwright() as pw:
            browsers = {user: launch_chromium(pw, tmp_path / f"profile-{user}")
                        for user in (INSTRUCTOR, TA, ALICE, BOB)}
            try:
                scenario(hub, browsers, timings)
            finally:
                for browser in browsers.values():
                    browser.close()
    finally:
        hub.cleanup(keep_log_in=OUTPUT_DIR)
    timings["total"] = time.monotonic() - started
    print("timings (s): " + ", ".join("%s %.0f" % kv for kv in timings.items()))


def scenario(hub, browsers, timings):
    from playwright.sync_api import expect
    t = time.monotonic()
    course = hub.course
    service = f"services/{COURSE_ID}/formgrader"

    # 1. The instructor releases in formgrader.
    prof = login(browsers[INSTRUCTOR], hub, INSTRUCTOR)
    prof.goto(hub.url(service + "/manage_assignments"))
    wait_for_formgrader_table(prof)
    shot(prof, "1-formgrader")
    title, text, modal = formgrader_action(prof, formgrader_row(prof, "name", ASSIGNMENT).locator("td.release a"),
                                           ACTION_TIMEOUT)
    shot(prof, "1-released")
    assert title == "Success", text[-3000:]
    close_formgrader_modal(prof, modal)
    timings["release"] = time.monotonic() - t

    # 2. Each student fetches, fills in and submits in JupyterLab's Assignments tab.
    t = time.monotonic()
    students = {}
    for user, full in ((ALICE, True), (BOB, False)):
        page = login(browsers[user], hub, user)
        open_lab(page, hub, user)
        assignments_tab(page)
        click_in_list(page, "Fetch")
        expect(list_button(page, "Submit")).to_be_visible(timeout=UI_TIMEOUT)
        shot(page, f"2-{user}-fetched")
        fill_in(page, hub, user, course, full)
        click_in_list(page, "Submit")
        expect(list_button(page, "Fetch Feedback")).to_be_visible(timeout=UI_TIMEOUT)
        shot(page, f"2-{user}-submitted")
        students[user] = page
    timings["fetch, fill in, submit"] = time.monotonic() - t

    # 3. The instructor collects and autogrades in formgrader.
    t = time.monotonic()
    prof.goto(hub.url(service + "/manage_assignments"))
    wait_for_formgrader_table(prof)
    title, text, modal = formgrader_action(prof, formgrader_row(prof, "name", ASSIGNMENT).locator("td.collect a"),
                                           ACTION_TIMEOUT)
    assert title == "Success", text[-3000:]
    close_formgrader_modal(prof, modal)
    prof.goto(hub.url(service + f"/manage_submissions/{ASSIGNMENT}"))
    wait_for_formgrader_table(prof)
    for user in (ALICE, BOB):
        title, text, modal = formgrader_action(
            prof, formgrader_row(prof, "student-id", user).locator("td.autograde a"), ACTION_TIMEOUT)
        assert title == "Success", f"autograde {user}:\n" + text[-3000:]
        close_formgrader_modal(prof, modal)
    prof.reload()
    wait_for_formgrader_table(prof)
    shown = {user: formgrader_row(prof, "student-id", user).locator("td.score").inner_text().strip()
             for user in (ALICE, BOB)}
    shot(prof, "3-autograded")
    timings["collect, autograde"] = time.monotonic() - t

    # Graded the kit's way (kit/nbgrader_steps.py: sandboxed kernels, trusted checks): its feedback
    # lines are in every graded test cell's metadata.
    for user in (ALICE, BOB):
        graded = json.loads((course / "autograded" / user / ASSIGNMENT / "svm.ipynb").read_text())
        tests = [c for c in graded["cells"] if c["cell_type"] == "code"
                 and c["metadata"].get("nbgrader", {}).get("grade")
                 and not c["metadata"]["nbgrader"].get("solution")]
        assert tests and all("feedback" in c["metadata"].get("kit", {}) for c in tests), user
    auto = auto_scores(course)
    alice_auto, alice_max = auto[ALICE]
    bob_auto, _ = auto[BOB]
    assert alice_auto == alice_max > 0, auto
    assert 0 < bob_auto < alice_auto, auto
    for user in (ALICE, BOB):
        assert shown[user].startswith("%g / " % auto[user][0]), (user, shown[user], auto)

    # 4. The TA grades alice's written answer by hand.
    t = time.monotonic()
    ta = login(browsers[TA], hub, TA)
    ta.goto(hub.url(service + f"/manage_students/{ALICE}/{ASSIGNMENT}"))
    wait_for_formgrader_table(ta)
    formgrader_row(ta, "name", "svm").locator("td.name a").click()
    ta.wait_for_function("() => window.formgrader && formgrader.grades && formgrader.grades.loaded"
                         " && formgrader.comments && formgrader.comments.loaded", timeout=UI_TIMEOUT)
    box = ta.locator("input.score#" + WRITTEN)
    box.evaluate("box => box.closest('.nbgrader_cell').scrollIntoView({block: 'center'})")
    with ta.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
        box.fill(str(HAND_SCORE))
        box.press("Tab")
    assert saved.value.ok
    shot(ta, "4-ta-hand-score")
    assert manual_score(course, ALICE, WRITTEN) == HAND_SCORE
    timings["hand grading"] = time.monotonic() - t

    # 5. The instructor generates and releases feedback.
    t = time.monotonic()
    prof.goto(hub.url(service + "/manage_assignments"))
    wait_for_formgrader_table(prof)
    for column in ("generate-feedback", "release-feedback"):
        title, text, modal = formgrader_action(
            prof, formgrader_row(prof, "name", ASSIGNMENT).locator(f"td.{column} a"), ACTION_TIMEOUT)
        assert title == "Success", f"{column}:\n" + text[-3000:]
        close_formgrader_modal(prof, modal)
        wait_for_formgrader_table(prof)
    shot(prof, "5-feedback-released")
    timings["feedback"] = time.monotonic() - t

    # 6. Each student fetches their feedback and reads it; not the other's.
    t = time.monotonic()
    from kit.release import secret_lines
    secrets = secret_lines(course / "source" / ASSIGNMENT)
    assert len(secrets) > 50
    for user, other in ((ALICE, BOB), (BOB, ALICE)):
        page = students[user]
        page.reload()
        page.locator("#jp-main-dock-panel").wait_for(timeout=UI_TIMEOUT)
        assignments_tab(page)
        click_in_list(page, "Fetch Feedback")
        home = Path(f"/home/{user}")
        feedback = lambda: sorted((home / ASSIGNMENT / "feedback").glob("*/svm.html"))
        deadline = time.monotonic() + 60
        while not feedback() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert feedback(), f"{user} fetched no feedback"
        relative = feedback()[0].relative_to(home).as_posix()
        page.goto(hub.url(f"user/{user}/files/{relative}"))
        page.wait_for_load_state()
        text = page.locator("body").inner_text()
        shot(page, f"6-{user}-feedback")
        assert "Score" in text or "score" in text
        if user == ALICE:
            assert f"{HAND_SCORE:.1f} / 3.0" in page.content() or f"Score: {HAND_SCORE}" in page.content()
        # Nothing the student can open holds a solution or hidden-test line (but what they
        # wrote themselves: alice typed in the reference solutions).
        opened = [p for p in home.rglob("*") if p.is_file() and not p.is_symlink()
                  and p.suffix in (".html", ".ipynb", ".py", ".txt", ".json")]
        assert any(p.suffix == ".html" for p in opened)
        theirs = WRITTEN_LINES.get(user, set())
        for path in opened:
            lines = {l.strip() for l in path.read_text(errors="replace").splitlines()}
            if path.suffix == ".html":
                import html as html_module
                lines |= {html_module.unescape(re.sub(r"<[^>]+>", "", l)).strip() for l in lines}
            found = sorted((secrets & lines) - theirs)
            assert not found, (path, found[:3])
        # The other student's feedback: not through this user's server, not through theirs.
        for path in (f"user/{user}/files/../{other}/{relative}", f"user/{other}/files/{relative}",
                     f"user/{other}/api/contents/{ASSIGNMENT}"):
            response = page.request.get(hub.url(path), max_redirects=0)
            assert response.status in (302, 403, 404), (path, response.status)
            assert "Score" not in response.text()
    timings["students read feedback"] = time.monotonic() - t


def gradebook(course):
    from nbgrader.api import Gradebook
    return Gradebook("sqlite:///" + str(course / "gradebook.db"), COURSE_ID)


def auto_scores(course):
    """{student: (auto score, auto max)} over both notebooks, from the gradebook."""
    result = {}
    with gradebook(course) as gb:
        for user in (ALICE, BOB):
            submission = gb.find_submission(ASSIGNMENT, user)
            got = total = 0.0
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.auto_score is not None and grade.cell.cell_type == "code":
                        got += grade.auto_score
                        total += grade.max_score
            result[user] = (round(got, 3), round(total, 3))
    return result


def manual_score(course, student, grade_id):
    with gradebook(course) as gb:
        return gb.find_grade(grade_id, "svm", ASSIGNMENT, student).manual_score
