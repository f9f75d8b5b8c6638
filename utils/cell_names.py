"""What a graded cell is called where you see it: the one rule for naming cells to students.

- a written answer: the question's name in bold in the text just above it ("Inline question 1",
  "Question 3"; in the Korean edition "인라인 질문 1", "질문 3");
- a test cell: its first comment ("Test: svm_loss_naive returns the right loss"), without
  the points it states;
- anything else: the last heading above it; its nbgrader id only when there is none.

`python -m utils.check` names your unanswered questions this way, and the grader's feedback
and class report name every graded cell this way (read from the notebooks as handed out,
so in the language of your edition).
"""
import re

# "**Inline question 1**", "**Question 3**" (Korean edition: "**인라인 질문 1**", "**질문 3**").
QUESTION_NAME = re.compile(r"\*\*([^*\n]*(?:question|질문)[^*\n]*)\*\*", re.IGNORECASE)
# "# Test: svm_loss_naive returns the right loss (5 points)": the comment, then the points.
TEST_COMMENT = re.compile(r"^\s*#\s*(.+?)\s*(?:\([^()]*\))?\s*$")
MAX_NAME = 80   # characters of a name (a heading can be long)


def grading(cell):
    return cell.get("metadata", {}).get("nbgrader") or {}


def is_written_answer(cell):
    """A written answer graded by hand: a markdown cell that is both graded and a solution."""
    meta = grading(cell)
    return cell.get("cell_type") == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def fallback_name(cells, index):
    return f"cell {grading(cells[index]).get('grade_id', index + 1)}"


def question_name(cells, index):
    """The name the notebook gives the question answered in cell `index` ("Inline question 1"),
    found in the markdown just above it; else the cell's id."""
    for cell in reversed(cells[:index]):
        if cell.get("cell_type") == "markdown" and not is_written_answer(cell):
            names = QUESTION_NAME.findall(cell.get("source", ""))
            if names:
                return names[-1].strip()[:MAX_NAME]
            break
    return fallback_name(cells, index)


def heading_before(cells, index):
    """The last markdown heading above cell `index`, or its nbgrader id if there is none."""
    for cell in reversed(cells[:index]):
        if cell.get("cell_type") == "markdown":
            headings = re.findall(r"^#+\s*(.+?)\s*$", cell.get("source", ""), re.MULTILINE)
            if headings:
                return headings[-1][:MAX_NAME]
    return grading(cells[index]).get("grade_id", f"cell {index + 1}")


def test_name(cells, index):
    """A code cell's first line when it is a comment, without the points in parentheses at its
    end ("Test: svm_loss_naive returns the right loss"); else the heading above it."""
    lines = cells[index].get("source", "").strip().splitlines()
    match = TEST_COMMENT.match(lines[0]) if lines else None
    return match.group(1)[:MAX_NAME] if match else heading_before(cells, index)


def cell_name(cells, index):
    """The name of graded cell `index` of a notebook's `cells`, as its reader sees it."""
    if is_written_answer(cells[index]):
        return question_name(cells, index)
    if cells[index].get("cell_type") == "code":
        return test_name(cells, index)
    return heading_before(cells, index)


def cell_names(cells):
    """{grade_id: name} of every graded cell of a notebook's `cells`."""
    return {grading(cell)["grade_id"]: cell_name(cells, index) for index, cell in enumerate(cells)
            if grading(cell).get("grade") and grading(cell).get("grade_id")}
