"""The class report page (kit/page_templates/report.html.j2): every text from a submission
or the gradebook (student ids, statuses, mistake names and descriptions, function and cell
names) is escaped by the template's autoescaping, in every section of the page."""
import html

import pytest

from kit import report

HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


def hostile_data(lang):
    functions = report.by_function({HOSTILE: {"svm_loss_naive:loss": ["reg_missing_loss", HOSTILE]},
                                    "bob": {"svm_loss_naive:loss": []}}, lang)
    functions[0]["mistakes"][0]["description"] = "a mistake text " + HOSTILE
    functions[0]["function"] += HOSTILE
    row = {"auto": 1, "written": 0, "by_hand": 0, "answers": {"graded": 0, "pending": 1, "unanswered": 0},
           "late_penalty": None, "time_unknown": True, "total": 1, "max": 30}
    return {"lang": lang, "cell_names": {"c1": "svm.ipynb: " + HOSTILE},
            "functions": functions, "scores": {"students": 2},
            "grades": {"written_answers": {"graded": 0, "pending": 1, "unanswered": 0}, "hand_points": 0,
                       "late_students": 0, "late_points": 0, "by_student": {HOSTILE: row}},
            "pass_rates": {"c1": 0.5, "c2" + HOSTILE: 1.0}, "problems": {HOSTILE: "error: " + HOSTILE}}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_hostile_text_is_escaped_everywhere_on_the_page(lang):
    page = report.page(hostile_data(lang), b"png")
    assert "<script" not in page and "<img src=x" not in page and "onerror=alert(1)>" not in page
    # Where each hostile text went: the student (two mistakes, grades, problems), the status,
    # the mistake's name and text, the function, the cell's name and a cell without one.
    escaped = html.escape(HOSTILE).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")
    assert page.count(escaped) == 10
    assert "a mistake text " + escaped in page and "error: " + escaped in page
    # Only the page's own markup is markup: one image (the plot), one style, no script.
    assert page.count("<img ") == 1 and "src='data:image/png;base64,cG5n'" in page


def test_an_empty_report_is_a_whole_page():
    page = report.page({"functions": [], "scores": {"students": 0}, "pass_rates": {}, "problems": {}}, None)
    assert page.startswith("<!DOCTYPE html>\n<html lang='en'>") and page.endswith("</body></html>")
    assert "<img" not in page and "Whole grades" not in page and "Submissions with problems" not in page
