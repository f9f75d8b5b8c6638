"""The Korean edition in a real browser: JupyterLab opens the Korean svm.ipynb from the
unpacked `kit release --lang ko` zip and renders its Korean text with a CJK font.

Headless Chromium (Debian's chromium) driven by Playwright, as in tests/test_browser.py. The
Korean glyphs need a CJK font on the machine: .ci/run installs Debian's fonts-noto-cjk, and
without it the page shows empty boxes, so the test fails saying what to install. The
screenshot goes to test-output/browser/lab-korean-svm.png.
"""
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from browser_helpers import (FRONT_ENDS, JupyterServer, copy_to, release_zip,
                             launch_chromium, notebook_cells, wait_for_notebook)

REPO = Path(__file__).resolve().parents[2]
OUTPUT_DIR = REPO / "test-output" / "browser"
ASSIGNMENT = "linear_classifiers"
NOTEBOOK = "svm.ipynb"
HANGUL = re.compile(r"[\uac00-\ud7a3]")

pytestmark = pytest.mark.slow


def korean_font():
    """The font fontconfig picks for Korean text, or None when it is not a CJK font."""
    try:
        family = subprocess.run(["fc-match", "-f", "%{family}", ":lang=ko"], capture_output=True,
                                text=True, timeout=30).stdout
    except FileNotFoundError:
        return None
    return family if re.search(r"CJK|Nanum|Un |Baekmuk|Gothic|Myeongjo", family) else None


@pytest.fixture(scope="module")
def korean_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-korean")
    with zipfile.ZipFile(release_zip(root, lang="ko")) as zf:
        zf.extractall(root / "student")
    return root / "student" / ASSIGNMENT


def test_korean_svm_notebook_renders_in_jupyterlab(korean_folder, tmp_path, cifar10_dir):
    from playwright.sync_api import expect, sync_playwright
    font = korean_font()
    assert font, ("no CJK font for Korean text (fc-match :lang=ko): install the Debian package "
                  "fonts-noto-cjk, as .ci/run does")
    import nbformat
    cells = nbformat.read(korean_folder / NOTEBOOK, as_version=4).cells
    question = next(c.source.splitlines()[0] for c in cells if "인라인 질문 1" in c.source)
    log = tmp_path / "lab-korean-jupyter.log"
    server = JupyterServer("lab", korean_folder, tmp_path / "jupyter-state", log,
                           env={"CIFAR10_DIR": cifar10_dir})
    try:
        with server, sync_playwright() as pw:
            context = launch_chromium(pw, tmp_path / "chromium-profile")
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.goto(server.url(FRONT_ENDS["lab"][1].format(NOTEBOOK), token=True))
                wait_for_notebook(page, len(cells))
                # Markdown cells are rendered as HTML: the rendered title and a question.
                rendered = page.locator(".jp-NotebookPanel .jp-MarkdownCell .jp-RenderedMarkdown")
                expect(rendered.first.locator("h1")).to_contain_text("서포트 벡터 머신")
                question_cell = notebook_cells(page).nth(
                    next(i for i, c in enumerate(cells) if "인라인 질문 1" in c.source))
                question_cell.scroll_into_view_if_needed()
                expect(question_cell.locator(".jp-RenderedMarkdown strong").first).to_have_text(
                    re.sub(r"\*\*(.*?)\*\*.*", r"\1", question))
                text = page.locator(".jp-NotebookPanel").inner_text()
                assert len(HANGUL.findall(text)) > 500, text[:2000]
                notebook_cells(page).first.scroll_into_view_if_needed()
                shot = tmp_path / "lab-korean-svm.png"
                page.screenshot(path=str(shot))
                OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
                copy_to([shot], OUTPUT_DIR)
                print("Korean text rendered with the CJK font %r" % font)
            finally:
                context.close()
    finally:
        copy_to([log], OUTPUT_DIR)
