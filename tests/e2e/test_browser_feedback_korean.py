"""A Korean student's feedback in a real browser (issue 26, item 8): headless Chromium (Debian's,
through Playwright, as tests/e2e/test_browser_korean.py) opens the feedback HTML of a Korean
course and shows the Korean verdict words, the questions by their Korean names, and nothing
live (no script, frame or handler in the page's content, no payload run, no dialog).

The course holds a submission stored as `kit autograde` stores it (tests/feedback_helpers.py):
no grading run. The screenshot goes to test-output/browser/feedback-korean-svm.png.
"""
import re
import time
from pathlib import Path

import pytest

from browser_helpers import browser_skip_reason, launch_chromium, live_dangers, payloads_that_ran
from feedback_helpers import STUDENT, add_feedback
from kit import mistakes, phrases
from kit.course import Course

OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output" / "browser"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
SETTLE_SECONDS = 1.0   # for anything a page might run after load

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def korean_course(korean_released_course):
    skip = browser_skip_reason()
    if skip:
        print(skip)
        pytest.skip(skip)
    return add_feedback(korean_released_course)


def test_korean_feedback_shows_korean_verdicts_and_nothing_live(korean_course, tmp_path):
    from playwright.sync_api import sync_playwright
    page_file = Course(korean_course).feedback(STUDENT) / "svm.html"
    with sync_playwright() as pw:
        context = launch_chromium(pw, tmp_path / "chromium-profile")
        try:
            page = context.new_page()
            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(page_file.as_uri(), wait_until="load")
            page.wait_for_selector("main", state="attached")
            time.sleep(SETTLE_SECONDS)
            text = page.inner_text("main")
            for words in ("피드백", "자동 채점 점수", "통과", "채점기의 확인에서 흔한 실수를 찾았습니다",
                          "이 셀의 비공개 테스트가 실패했습니다", "인라인 질문 1",
                          phrases.translator("ko").text(mistakes.words("reg_missing_loss"))):
                assert words in text, words
            assert "The grader's check recognised" not in text and "Autograded score" not in text
            failed = page.get_by_text("흔한 실수를 찾았습니다").first
            failed.scroll_into_view_if_needed()
            OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT_DIR / "feedback-korean-svm.png"))
            assert payloads_that_ran(page) == [] and dialogs == []
            dangers = live_dangers(page, "main")
            assert dangers == [], "the feedback holds live content:\n" + "\n".join(dangers)
        finally:
            context.close()
