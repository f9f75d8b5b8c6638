"""The Korean edition on the hub: a student switches JupyterLab to Korean (the language pack
`jupyterlab-language-pack-ko-KR`, in the hub's environment) and finds the Korean release in
the assignment she fetched. Uses the hub of tests/hub/conftest.py (`kit release --lang ko`).
Screenshots: test-output/hub-isolation/korean-*.png."""
import re

import pytest

from browser_helpers import (UI_TIMEOUT, browser_skip_reason, launch_chromium, run_cells,
                             wait_for_idle_kernel)
from conftest import OUTPUT_DIR
from hub_helpers import ALICE, ASSIGNMENT

pytestmark = pytest.mark.slow
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def student_settings(user):
    """JupyterLab settings of the student's own (as browser_helpers' servers have): every
    cell in the page, no news prompt."""
    import json
    import os
    import pwd
    from browser_helpers import USER_SETTINGS
    entry = pwd.getpwnam(user)
    root = os.path.join(entry.pw_dir, ".jupyter", "lab", "user-settings")
    for rel, settings in USER_SETTINGS.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            json.dump(settings, fh)
    for folder, dirs, files in os.walk(os.path.join(entry.pw_dir, ".jupyter")):
        for name in [folder] + [os.path.join(folder, f) for f in files]:
            os.chown(name, entry.pw_uid, entry.pw_gid)


def test_a_student_works_in_korean(hub, exchange, tmp_path):
    reason = browser_skip_reason()
    if reason:
        print(reason)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright
    student_settings(ALICE)
    with sync_playwright() as pw:
        browser = launch_chromium(pw, tmp_path / "profile")
        try:
            page = browser.new_page()
            page.goto(hub.url("hub/login"))
            page.fill("input#username_input", ALICE)
            page.fill("input#password_input", hub.password)
            page.click("#login_submit")
            page.goto(hub.url(f"user/{ALICE}/lab"), timeout=120_000)
            page.locator("#jp-main-dock-panel").wait_for(timeout=120_000)
            # Settings > Language > Korean: JupyterLab asks, then reloads in Korean.
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Settings$")).click()
            page.locator(".lm-Menu-item", has_text=re.compile("^Language$")).click()
            korean = page.locator(".lm-Menu-item", has_text=re.compile("Korean|한국어"))
            korean.wait_for(timeout=UI_TIMEOUT)
            OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT_DIR / "korean-0-language-menu.png"))
            korean.click()
            dialog = page.locator(".jp-Dialog")
            dialog.wait_for(timeout=UI_TIMEOUT)
            dialog.locator("button.jp-mod-accept").click()
            page.wait_for_load_state()
            page.locator("#jp-main-dock-panel").wait_for(timeout=120_000)
            expect(page.get_by_role("menuitem", name="파일")).to_be_visible(timeout=UI_TIMEOUT)   # File
            OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT_DIR / "korean-lab.png"))
            # The assignment she fetched is the Korean release.
            page.goto(hub.url(f"user/{ALICE}/lab/tree/{ASSIGNMENT}/svm.ipynb"))
            first = page.locator(".jp-NotebookPanel .jp-Cell").first
            first.wait_for(timeout=120_000)
            expect(first).to_contain_text(HANGUL, timeout=UI_TIMEOUT)
            # Her kernel runs, and finds the course's CIFAR-10 (the hub sets CIFAR10_DIR).
            expect(page.locator(".jp-NotebookPanel-toolbar .jp-Toolbar-kernelName")).to_contain_text(
                "Python", timeout=120_000)
            wait_for_idle_kernel(page, timeout=120_000)
            code = set(page.evaluate("""() => Array.from(document.querySelectorAll(
                '.jp-NotebookPanel .jp-Notebook .jp-Cell')).map((c, i) => c.classList.contains(
                'jp-CodeCell') ? i : -1).filter(i => i >= 0)"""))
            first_code = sorted(code)[:2]
            outputs = run_cells(page, first_code[0], first_code[1], code)
            page.screenshot(path=str(OUTPUT_DIR / "korean-svm.png"))
            assert "Training images:" in outputs[first_code[1]], outputs
        finally:
            browser.close()
