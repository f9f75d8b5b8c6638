"""What the kit says to students (feedback, verdicts, the class report), issue 26 items 5 and 8:
- no sentence hands over the fix (a list of giveaways: formulas, recipes, "instead of ...");
- every sentence is in the Korean catalogue (i18n/ko/kit.po), checked like the tools' messages;
- a Korean course's feedback and report are Korean, every graded cell named as its students
  saw it ("인라인 질문 1", a test's first comment), never by its grade_id; an English course's
  stay English.
The courses hold a submission stored as `kit autograde` stores it (tests/feedback_helpers.py).
"""
import html
import re
import shutil

import nbformat
import pytest

from kit import i18n, mistakes, phrases
from kit.course import Course
from feedback_helpers import STUDENT, add_feedback, feedback_page
from kit_helpers import REPO
from utils.cell_names import cell_names

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Words that hand over the fix rather than say where and what kind of mistake (each:
# what it gives away, a regular expression).
FIX_GIVEAWAYS = [
    ("the regularization gradient's formula", r"2\s*\*?\s*reg\s*\*\s*W|2\s*\*\s*λ|factor 2|2배"),
    ("the stability recipe", r"subtract|the max\b|max\(|최댓값을 빼|빼 주"),
    ("the averaging recipe", r"divide by|divided by|나누세요|나눠야"),
    ("the fix spelled as its alternative", r"instead of|대신|where the task asks for"),
    ("the SGD update", r"W\s*-=|learning_rate\s*\*"),
    ("predict's solution", r"argmax|highest score"),
    ("the invariance that suggests the shift", r"changes nothing|nothing needs adding"),
    ("the excluded class as the fix", r"j\s*[!=]=\s*y|skip the correct"),
]


def sentences():
    """(where, text) of every kit sentence: the English and its Korean translation."""
    catalog = i18n.read_catalog(REPO, "ko", i18n.KIT_DOMAIN)
    for english, where in i18n.english_messages(REPO, i18n.KIT_DOMAIN).items():
        yield where, english
        entry = catalog.get(english)
        if entry is not None and entry.string:
            yield f"{where} (ko)", entry.string


def test_no_sentence_to_students_hands_over_the_fix():
    said = [*sentences(), *((f"mistake {m.name}", m.words) for m in mistakes.MISTAKES)]
    found = [f"{where}: {what}: {text[:80]!r}" for where, text in said
             for what, pattern in FIX_GIVEAWAYS if re.search(pattern, text, re.IGNORECASE)]
    assert not found, "\n".join(found)


def test_every_mistake_and_check_sentence_is_marked_for_the_catalogue():
    """Each N_( in the kit's sources is one extracted sentence (none hidden in an f-string,
    where the extractor does not look), and every mistake's words are among them."""
    from babel.messages.extract import extract_from_file
    for source in i18n.KIT_MESSAGE_SOURCES:
        text = (REPO / source).read_text()
        marked = len(re.findall(r"(?<![\w.])N_\(", text))
        extracted = list(extract_from_file("python", str(REPO / source), keywords={"N_": None}))
        assert marked == len(extracted), (source, marked, len(extracted))
    english = i18n.english_messages(REPO, i18n.KIT_DOMAIN)
    assert all(m.words in english for m in mistakes.MISTAKES)


def test_the_korean_catalogue_of_the_kit_is_complete():
    assert i18n.message_problems(REPO, "ko", i18n.KIT_DOMAIN) == []


def test_a_changed_english_sentence_is_reported_where_it_is(tmp_path):
    for part in ("kit", "i18n", "utils", "notebooks", "classifiers", "student"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "kit" / "mistakes.py"
    path.write_text(path.read_text().replace("seems to leave out the regularization term.",
                                             "seems to forget the regularization term."))
    found = i18n.problems(kit_root=tmp_path, lang="ko")
    assert any(p.startswith("kit/mistakes.py:") and "seems to forget" in p and "no ko translation" in p
               for p in found), found
    assert any("i18n/ko/kit.po" in p and "seems to leave out" in p for p in found), found


def test_stored_lines_translate_field_by_field_and_code_stays():
    say = phrases.translator("ko")
    stored = ["Failed with AssertionError at line 3 of this test cell:",
              "    assert loss == passed  # the test's own line",
              "In your code:", "  classifiers/linear_svm.py, line 40, in svm_loss_naive",
              "      dW += reg * W",
              "  softmax_loss_naive: the loss or gradient is not finite (case 'offset')",
              "  - " + mistakes.words("reg_grad_factor_2"), "text the kit never wrote"]
    shown = say.lines(stored)
    assert shown[0] == "이 테스트 셀의 3번째 줄에서 AssertionError(으)로 실패했습니다:"
    assert shown[1] == stored[1] and shown[4] == stored[4], "quoted code is never translated"
    assert shown[3] == "  classifiers/linear_svm.py, 40번째 줄, svm_loss_naive 안"
    assert shown[5] == "  softmax_loss_naive: 손실이나 기울기가 유한하지 않습니다 (경우 'offset')"
    assert shown[6] == "  - dW의 규제 부분이 상수 배만큼 어긋납니다."
    assert shown[7] == stored[7]
    assert phrases.translator("en").lines(stored) == stored


def test_graded_cells_are_named_as_the_notebook_names_them():
    names = cell_names(nbformat.read(REPO / "notebooks" / "svm.ipynb", as_version=4).cells)
    assert names["q_svm_gradient"] == "Inline question 1" and names["q_svm_min_max"] == "Question 1"
    assert names["test_svm_naive_loss"] == "Test: svm_loss_naive returns the right loss"


# --- whole pages: a Korean course and an English one ----------------------------------------

def page_text(page):
    """What a reader of an HTML page reads: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)))


def english_sentences():
    """The kit's English sentences of three words or more, fields left out (the parts between)."""
    for english in i18n.english_messages(REPO, i18n.KIT_DOMAIN):
        for part in phrases.FIELD.split(english)[::2]:
            if len(part.split()) >= 3:
                yield part.strip()


@pytest.fixture(scope="module")
def korean_course(korean_released_course):
    return add_feedback(korean_released_course)


@pytest.fixture(scope="module")
def english_course(released_course):
    return add_feedback(released_course)


def test_a_korean_course_gets_korean_feedback(korean_course):
    assert phrases.course_language(korean_course) == "ko"
    for name in ("svm.ipynb", "softmax.ipynb"):
        text = page_text(feedback_page(korean_course, name))
        for words in ("피드백", "자동 채점 점수", "통과", "흔한 실수", "비공개 테스트", "채점되지 않음"):
            assert words in text, (name, words)
        left = [s for s in english_sentences() if s in text]
        assert not left, (name, left)
    text = page_text(feedback_page(korean_course))
    assert "채점기가 직접 확인한 결과가 이 테스트 셀의 결과와 다릅니다" in text
    assert "svm_loss_naive: 기울기가 틀렸습니다 (경우 'reg')" in text
    assert phrases.translator("ko").text(mistakes.words("reg_missing_loss")) in text


def test_feedback_and_report_name_cells_as_the_students_saw_them(korean_course):
    page = feedback_page(korean_course)
    table = page[:page.index("</table>")]
    assert "인라인 질문 1" in table and "질문 4" in table
    assert "Test: svm_loss_naive returns the right loss" in table   # test cells are code: as released
    source = nbformat.read(Course(korean_course).source / "svm.ipynb", as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert not [gid for gid in ids if gid in page_text(table)]
    report = (korean_course / "reports" / "report.html").read_text()
    assert "흔한 실수" in report and "점수와 통과율" in report and "전체 성적" in report
    assert "svm.ipynb: Test: svm_loss_naive returns the right loss" in html.unescape(report)
    assert html.escape(phrases.translator("ko").text(mistakes.words("reg_missing_loss")), quote=True) in report
    assert "<td>test_svm_naive_loss</td>" not in report


def test_an_english_course_keeps_english_feedback(english_course):
    assert phrases.course_language(english_course) == "en"
    text = page_text(feedback_page(english_course))
    assert not HANGUL.search(text.replace("한국어", ""))
    for words in ("Feedback", "Autograded score", "passed", "The grader's check recognised a common mistake",
                  mistakes.words("reg_missing_loss"), "Inline question 1",
                  "Test: svm_loss_naive returns the right loss"):
        assert words in text, words
    report = (english_course / "reports" / "report.html").read_text()
    assert "Common mistakes" in report and not HANGUL.search(report)
    names = cell_names(nbformat.read(Course(english_course).release / "svm.ipynb", as_version=4).cells)
    assert names["q_svm_gradient"] == "Inline question 1"
    assert STUDENT in report
