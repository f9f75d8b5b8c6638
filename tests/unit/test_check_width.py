"""The self-check's report fits its width in screen columns, Korean included (issue 26, item 8):
a Hangul syllable takes two columns of a terminal, so counting characters let Korean lines
run to about 140 columns."""
import unicodedata

import nbformat

from utils import check

HANGUL_QUESTION = "인라인 질문 {n}"


def screen_columns(text):
    """Columns a terminal gives `text` (written here apart from utils.check.columns)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def korean_notebook(questions):
    """A notebook of `questions` written questions, each unanswered, named as the Korean
    edition names them."""
    cells = []
    for n in range(1, questions + 1):
        cells.append(nbformat.v4.new_markdown_cell(f"**{HANGUL_QUESTION.format(n=n)}** (2점)\n\n설명하세요."))
        cells.append(nbformat.v4.new_markdown_cell(
            "**답변:**\n\nYOUR ANSWER HERE",
            metadata={"nbgrader": {"grade": True, "solution": True, "grade_id": f"q{n}", "points": 2}}))
    return nbformat.v4.new_notebook(cells=cells)


def test_korean_question_lists_wrap_within_the_width(capsys):
    check.print_answers_to_write({"svm.ipynb": korean_notebook(12)})
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert sum(HANGUL_QUESTION.format(n=n) in out for n in range(1, 13)) == 12, out
    too_wide = [(screen_columns(line), line) for line in lines if screen_columns(line) > check.WIDTH]
    assert not too_wide, too_wide


def test_korean_lines_are_cut_and_wrapped_by_screen_columns():
    line = "  test_svm_naive_loss  0/5   실패 " + "오류 메시지가 아주 깁니다 " * 20
    assert screen_columns(check.cut(line)) <= check.WIDTH and check.cut(line).endswith("...")
    assert check.cut("짧은 줄") == "짧은 줄"
    sentence = "아직 끝나지 않았습니다: " + ", ".join(f"보이는 테스트 셀 {n}개 실패" for n in range(1, 12)) + "."
    wrapped = check.wrap(sentence).splitlines()
    assert len(wrapped) > 1 and all(screen_columns(line) <= check.WIDTH for line in wrapped), wrapped
    assert " ".join(part.strip() for part in wrapped) == sentence
