"""Students open the released assignment in a real browser: JupyterLab and Notebook 7.

What a student does, in headless Chromium driven by Playwright: open softmax.ipynb from the
unpacked release, find the test cells read-only, run the first cells, see the stub of
softmax_loss_naive raise, write the function in classifiers/softmax.py in Jupyter's editor,
save, re-run the sanity check and read a loss near -log(0.1), then press nbgrader's Validate.
Screenshots and the server's log go to test-output/browser/ (and the test's tmp_path).
Needs /usr/bin/chromium (Debian packages chromium, chromium-driver) and Playwright for
Python (pip install playwright; no browser download); skips, saying so, without them.
"""
import contextlib
import json
import math
import re
import time
import zipfile
from pathlib import Path

import pytest

from browser_helpers import (FRONT_ENDS, UI_TIMEOUT, JupyterServer, copy_to, release_zip,
                             launch_chromium, notebook_cells, paste, run_cells,
                             select_cell, try_to_type, validate, wait_for_notebook, wait_until)

REPO = Path(__file__).resolve().parents[2]
OUTPUT_DIR = REPO / "test-output" / "browser"
ASSIGNMENT = "linear_classifiers"
NOTEBOOK = "softmax.ipynb"
MODULE = "classifiers/softmax.py"
FUNCTION = "softmax_loss_naive"
EXPECTED_LOSS = -math.log(0.1)  # 10 classes, tiny random weights: every class about equally likely
LOSS_TOLERANCE = 0.25  # weights of 1e-4 still give scores of ~0.3: losses of 2.3 to 2.45 are usual

# What the student pastes in place of the stub line: their own loop version, written the
# usual way (probabilities, then -log of the correct one). Lines after the first carry the
# function body's indentation, as pasted code does; the cursor sits after the indentation.
STUDENT_CODE = """\
num_train = X.shape[0]
    num_classes = W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores -= np.max(scores)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss += -np.log(probs[y[i]])
        for j in range(num_classes):
            dW[:, j] += (probs[j] - (j == y[i])) * X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def released_zip(tmp_path_factory):
    """The English release's student zip."""
    return release_zip(tmp_path_factory.mktemp("browser-release"))


@pytest.fixture
def student_folder(released_zip, tmp_path):
    """The student zip, unpacked as a student would."""
    with zipfile.ZipFile(released_zip) as zf:
        zf.extractall(tmp_path / "student")
    folder = tmp_path / "student" / ASSIGNMENT
    assert (folder / NOTEBOOK).is_file() and (folder / MODULE).is_file()
    return folder


@pytest.fixture(params=sorted(FRONT_ENDS))
def jupyter(request, student_folder, tmp_path, cifar10_dir):
    """The front end serving the student's folder; always stopped, port freed, log kept."""
    front_end = request.param
    for stale in OUTPUT_DIR.glob(front_end + "-*"):  # the folder shows the last run only
        stale.unlink()
    log = tmp_path / ("%s-jupyter.log" % front_end)
    server = JupyterServer(front_end, student_folder, tmp_path / "jupyter-state", log,
                           env={"CIFAR10_DIR": cifar10_dir})
    try:
        with server:
            yield server
    finally:
        copy_to([log], OUTPUT_DIR)


@pytest.fixture
def page(jupyter, tmp_path):
    """A page of a fresh headless Chromium (its own profile in tmp_path), closed afterwards."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        context = launch_chromium(pw, tmp_path / "chromium-profile")
        try:
            context.set_default_timeout(UI_TIMEOUT)
            context.set_default_navigation_timeout(UI_TIMEOUT)
            context.grant_permissions(["clipboard-read", "clipboard-write"],
                                      origin=jupyter.base_url.rstrip("/"))
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@contextlib.contextmanager
def screenshots_on_failure(context, prefix, folder):
    """On any failure inside, save a screenshot of every open page to `folder` and OUTPUT_DIR."""
    try:
        yield
    except BaseException:
        for i, open_page in enumerate(context.pages):
            try:
                shot = folder / ("%s-failure-page%d.png" % (prefix, i))
                open_page.screenshot(path=str(shot))
                copy_to([shot], OUTPUT_DIR)
            except Exception as err:  # the page may be gone; the original failure matters
                print("no screenshot of page %d: %r" % (i, err))
        raise


def released_cells(folder):
    """The indices the test needs, read from the released notebook itself."""
    cells = json.loads((folder / NOTEBOOK).read_text())["cells"]
    meta = [c["metadata"].get("nbgrader", {}) for c in cells]
    source = ["".join(c["source"]) for c in cells]
    code = {i for i, c in enumerate(cells) if c["cell_type"] == "code"}
    tests = [i for i in sorted(code) if meta[i].get("grade") and meta[i].get("locked")]
    # The first cell that calls the function outside a test: the notebook's sanity check.
    sanity = next((i for i in sorted(code) if FUNCTION + "(" in source[i] and i not in tests), None)
    answers = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
               and meta[i].get("solution") and not meta[i].get("locked")]
    assert tests, "expected locked test cells in the released %s, found none" % NOTEBOOK
    assert answers, "expected a written-answer cell in the released %s, found none" % NOTEBOOK
    assert sanity is not None, ("expected a cell calling %s( before its tests in %s, found none"
                                % (FUNCTION, NOTEBOOK))
    # Test cells of the naive function alone must pass once it is written.
    naive_tests = [i for i in tests if FUNCTION in source[i] and "vectorized" not in source[i]
                   and "Softmax" not in source[i]]
    return dict(n=len(cells), code=code, tests=tests, sanity=sanity, answers=answers,
                naive_tests=naive_tests, source=source)


def saved_source(folder, index):
    """Cell `index` of the notebook on disk; "" while the server is still writing the file
    (Jupyter writes in place, so a read can see half a file)."""
    try:
        return "".join(json.loads((folder / NOTEBOOK).read_text())["cells"][index]["source"])
    except ValueError:
        return ""


def assert_locked_cells_unchanged(released_notebook, folder):
    saved = json.loads((folder / NOTEBOOK).read_text())["cells"]
    assert len(saved) == len(released_notebook["cells"]), "cells were added or deleted"
    for i, (old, new) in enumerate(zip(released_notebook["cells"], saved)):
        if old["metadata"].get("nbgrader", {}).get("locked"):
            assert new["source"] == old["source"], "locked cell %d changed on disk" % i


def reported_loss(text):
    """The loss the sanity check printed: the first number on a line starting with 'loss'."""
    for line in text.splitlines():
        if line.strip().lower().startswith("loss"):
            match = re.search(r"[-+]?\d+\.\d*(?:[eE][-+]?\d+)?", line)
            if match:
                return float(match.group())
    return None


def open_module_in_editor(jupyter, page):
    """Open classifiers/softmax.py in Jupyter's text editor, the way a student gets there.

    Returns (editor page, its editor content locator, a locator showing unsaved changes or
    None, a function bringing the notebook back to the front).
    """
    folder, name = MODULE.split("/")
    if jupyter.front_end == "lab":
        listing = page.locator(".jp-FileBrowser .jp-DirListing-content")
        listing.get_by_text(folder, exact=True).dblclick()
        listing.get_by_text(name, exact=True).dblclick()
        editor = page.locator(".jp-FileEditor .cm-content")
        editor.wait_for()
        tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name)
        notebook_tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=NOTEBOOK)
        return page, editor, tab, notebook_tab.click
    # Notebook 7: every document opens in its own browser tab.
    editor_page = page.context.new_page()
    editor_page.goto(jupyter.url(FRONT_ENDS[jupyter.front_end][2].format(MODULE)))
    editor = editor_page.locator(".jp-FileEditor .cm-content")
    editor.wait_for()
    return editor_page, editor, None, page.bring_to_front


def test_student_flow_in_browser(jupyter, page, student_folder, tmp_path):
    with screenshots_on_failure(page.context, jupyter.front_end, tmp_path):
        timings = student_flow(jupyter, page, student_folder, tmp_path)
    print("%s: seconds since the page opened: %s" % (jupyter.front_end, timings))
    (OUTPUT_DIR / ("%s-timings.json" % jupyter.front_end)).write_text(json.dumps(timings) + "\n")


def student_flow(jupyter, page, student_folder, tmp_path):
    from playwright.sync_api import expect

    front_end = jupyter.front_end
    info = released_cells(student_folder)
    released_notebook = json.loads((student_folder / NOTEBOOK).read_text())
    timings, t0 = {}, time.monotonic()

    def lap(name):
        timings[name] = round(time.monotonic() - t0, 1)

    # 1. Open the notebook (the token in the URL logs the browser in).
    page.goto(jupyter.url(FRONT_ENDS[front_end][1].format(NOTEBOOK), token=True))
    wait_for_notebook(page, info["n"])
    expect(page.locator(".jp-NotebookPanel .jp-Toolbar .validate-button")).to_be_visible()
    cells = notebook_cells(page)
    lap("open")

    # 2. Locked test cells are read-only: every one's editor says so, and typing into the
    # first and the last changes nothing...
    for i in info["tests"]:
        expect(cells.nth(i).locator(".cm-editor")).to_have_class(re.compile(r"\bjp-mod-readOnly\b"))
    typed = "# edit"
    for i in sorted({info["tests"][0], info["tests"][-1]}):
        shown = try_to_type(page, cells.nth(i), typed)
        assert typed not in shown, "test cell %d is editable: typing changed it to %r" % (i, shown)
    # ...while a written answer takes text (so the check above can fail).
    answer_text = " My answer, typed in %s." % front_end
    answer = cells.nth(info["answers"][0])
    answer.dblclick()
    shown = try_to_type(page, answer, answer_text)
    assert shown.endswith(answer_text), "the answer cell did not take text: %r" % shown
    # Rendered and saved, the file has the answer and every locked cell as released.
    select_cell(page, info["answers"][0])
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("Control+S")
    wait_until(lambda: answer_text in saved_source(student_folder, info["answers"][0]), 30,
               "Ctrl+S to save the notebook with the answer")
    assert_locked_cells_unchanged(released_notebook, student_folder)
    lap("read-only")

    # 3. Run the first cells, up to the sanity check: the stub says it is not implemented.
    sanity = info["sanity"]
    outputs = run_cells(page, 0, sanity - 1, info["code"])
    for i, text in outputs.items():
        assert "Traceback" not in text, "cell %d failed:\n%s" % (i, text)
    first = run_cells(page, sanity, sanity, info["code"])[sanity]
    assert "NotImplementedError" in first and FUNCTION in first, (
        "expected the released stub of %s to raise NotImplementedError, got:\n%s" % (FUNCTION, first))
    lap("first cells")

    # 4. Write the function in classifiers/softmax.py with Jupyter's editor, and save.
    module_path = student_folder / MODULE
    released = module_path.read_text()
    stubs = [line for line in released.splitlines()
             if "raise NotImplementedError" in line and FUNCTION in line]
    assert len(stubs) == 1, ("expected one stub line raising NotImplementedError for %s in the "
                             "released %s, got %d" % (FUNCTION, MODULE, len(stubs)))
    stub_line = stubs[0]
    indent = stub_line[:len(stub_line) - len(stub_line.lstrip())]
    expected_file = released.replace(stub_line, indent + STUDENT_CODE, 1)
    editor_page, editor, dirty_marker, back_to_notebook = open_module_in_editor(jupyter, page)
    editor.locator(".cm-line", has_text=stub_line.strip()).click()
    editor_page.keyboard.press("End")
    editor_page.keyboard.press("Shift+Home")  # selects the line from its indentation on
    paste(editor_page, STUDENT_CODE)
    expect(editor.locator(".cm-line", has_text=stub_line.strip())).to_have_count(0)
    if dirty_marker is not None:
        expect(dirty_marker).to_have_class(re.compile(r"\bjp-mod-dirty\b"))
    editor_page.keyboard.press("Control+S")
    if dirty_marker is not None:
        expect(dirty_marker).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"))
    wait_until(lambda: module_path.read_text() == expected_file, 30,
               "the editor to save %s with the pasted function" % MODULE)
    back_to_notebook()
    lap("edit and save")

    # 5. Re-run the sanity check (autoreload picks the edited file up): loss near -log(0.1).
    second = run_cells(page, sanity, sanity, info["code"])[sanity]
    assert "Traceback" not in second, "the sanity check still fails:\n" + second
    loss = reported_loss(second)
    assert loss is not None, "expected a line 'loss: <number>' in the output, got:\n" + second
    assert abs(loss - EXPECTED_LOSS) < LOSS_TOLERANCE, (
        "expected a loss near -log(0.1) = %.3f, got %.4f:\n%s" % (EXPECTED_LOSS, loss, second))
    timings["loss"] = loss
    lap("sanity check")

    # 6. Validate: saves the notebook, then nbgrader runs it all. Only the naive tests pass.
    title, kind, text, failed, dialog = validate(page)
    lap("validate")
    dialog_shot = tmp_path / ("%s-validate.png" % front_end)
    page.screenshot(path=str(dialog_shot))
    assert title == "Validation Results", "expected nbgrader's result dialog, got %r:\n%s" % (title, text)
    assert kind == "validation-failed" and failed, (
        "expected Validate to report the still-missing functions, got %s:\n%s" % (kind, text))
    failed_sources = [source.strip() for source, _ in failed]
    test_sources = {info["source"][i].strip() for i in info["tests"]}
    assert any(source in test_sources for source in failed_sources), (
        "expected the failed cells to be test cells of %s, got:\n%s" % (NOTEBOOK, text))
    for i in info["naive_tests"]:
        assert info["source"][i].strip() not in failed_sources, (
            "Validate says a test of %s fails:\n%s" % (FUNCTION, text))
    assert FUNCTION + ": not implemented yet" not in text, text
    assert "not implemented yet" in text, "expected the other stubs among the failures:\n" + text
    dialog.locator(".jp-Dialog-footer button").first.click()
    expect(dialog).to_have_count(0)
    # Validate saved the notebook first: the output of the re-run sanity check is on disk.
    saved = json.loads((student_folder / NOTEBOOK).read_text())["cells"][sanity]
    assert reported_loss("".join("".join(o.get("text", "")) for o in saved["outputs"])) == loss
    assert_locked_cells_unchanged(released_notebook, student_folder)

    # 7. The notebook after the run, with the sanity check in view.
    select_cell(page, sanity)
    notebook_shot = tmp_path / ("%s-softmax-notebook.png" % front_end)
    page.screenshot(path=str(notebook_shot))
    copy_to([dialog_shot, notebook_shot], OUTPUT_DIR)
    lap("screenshots")
    return timings
