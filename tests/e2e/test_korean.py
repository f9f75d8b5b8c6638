"""The Korean edition (issue 17): complete, current, and graded exactly like the English one.

- the completeness and staleness check passes on the repository, and flags a changed English
  cell, docstring or README (in a temporary copy) by name, as the release then does;
- code and test cells, their metadata and the classifiers' code are byte-identical in the
  two releases (but the comment of the stub in the cells students write code in), and every
  markdown cell of the Korean one is Korean; nothing English is left where solutions were;
- the Korean release passes the English one's leak checks (tests/test_release.py,
  tests/test_teaching.py), and the student check names its questions;
- `kit demo --lang ko` grades reference / untouched / partial as in English, and an English
  submission grades in full in the Korean course;
- both Korean notebooks run top to bottom with the reference solution: their code cells are
  the English ones, byte for byte, and the translated classifiers the English code (checked
  here), which tests/e2e/test_notebooks.py runs top to bottom; markdown never runs.
"""
import json
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from kit import i18n, release
from kit.course import Course, KitError
from kit_helpers import REPO, collect_all, grade, reference_submission

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def hangul_share(text):
    """Hangul syllables among the letters of `text` outside code spans and LaTeX (which stay
    as in English)."""
    prose = re.sub(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", "", text, flags=re.DOTALL)
    letters = [c for c in prose if c.isalpha()]
    return sum(bool(HANGUL.match(c)) for c in letters) / max(1, len(letters))


@pytest.fixture(scope="module")
def korean_course(korean_released_course):
    return korean_released_course


def kit_copy(tmp_path):
    """The parts of the repository the translation check reads, in a temporary folder."""
    for part in ("notebooks", "classifiers", "student", "i18n", "utils", "kit"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=release.JUNK)
    return tmp_path


# --- completeness and staleness -----------------------------------------------------------

def test_the_korean_edition_is_complete_and_current():
    assert i18n.problems(kit_root=REPO, lang="ko") == []


def test_a_changed_english_cell_is_flagged_by_name(tmp_path):
    root = kit_copy(tmp_path)
    path = root / "notebooks" / "svm.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c["metadata"]["nbgrader"]["grade_id"] == "svm_loss_md")
    cell["source"] = "".join(cell["source"]).replace("at\nleast a margin", "at\nleast a margin of one")
    new = nbformat.v4.new_markdown_cell("A new paragraph nobody has translated.")
    new.metadata["nbgrader"] = {"grade_id": "svm_new_md", "grade": False, "solution": False,
                                "locked": True, "schema_version": 3}
    nb["cells"].insert(3, new)
    path.write_text(json.dumps(nb, indent=1))
    found = i18n.problems(kit_root=root, lang="ko")
    assert len(found) == 2, found
    assert "notebooks/svm.ipynb: 'svm_new_md' has no ko translation yet" in found
    assert any(f.startswith("notebooks/svm.ipynb: 'svm_loss_md' changed in English after it was "
                            "translated") for f in found), found
    # The release refuses, naming the cells, before anything is built.
    with pytest.raises(KitError, match="svm_new_md(.|\n)*svm_loss_md"):
        release.run(kit_root=root, course=tmp_path / "course", dist=tmp_path / "dist", lang="ko")
    assert not (tmp_path / "dist").exists()
    # The English release does not depend on the translation.
    assert i18n.problems(kit_root=root, lang="en") == []


def test_changed_docstrings_comments_and_readme_are_flagged(tmp_path):
    root = kit_copy(tmp_path)
    module = root / "classifiers" / "softmax.py"
    module.write_text(module.read_text().replace("Softmax loss function, vectorized version.",
                                                 "Softmax loss function, vectorized.")
                      .replace("# Initialize the loss and gradient to zero.", "# Start from zero."))
    readme = root / "student" / "README.md"
    readme.write_text(readme.read_text() + "\nOne more line.\n")
    found = "\n".join(i18n.problems(kit_root=root, lang="ko"))
    for unit in ("classifiers/softmax.py: 'softmax_loss_vectorized.__doc__' changed",
                 "classifiers/softmax.py: 'softmax_loss_naive#1' changed",
                 "classifiers/softmax.py: 'softmax_loss_vectorized#1' changed",
                 "student/README.md: 'text' changed"):
        assert unit in found, found


def test_a_changed_tool_message_is_flagged_where_it_is(tmp_path):
    """The student tools' messages are gettext msgids: a changed English message has no
    translation any more, and its old entry is unused (gettext's own notion of stale)."""
    root = kit_copy(tmp_path)
    module = root / "utils" / "gradient_check.py"
    text = module.read_text()
    line = text[:text.index('"numerical: %f analytic: %f')].count("\n") + 1
    module.write_text(text.replace('"numerical: %f analytic: %f, relative error: %e"',
                                   '"numerical: %f, analytic: %f, relative error: %e"'))
    found = i18n.problems(kit_root=root, lang="ko")
    assert found == [
        f"utils/gradient_check.py:{line}: message 'numerical: %f, analytic: %f, relative error: %e' "
        "has no ko translation yet",
        "i18n/ko/utils.po: 'numerical: %f analytic: %f, relative error: %e' is translated but no "
        "longer in the English: remove it"], found
    # A translation that loses or reorders a %-placeholder would print garbage or crash.
    catalog = root / "i18n" / "ko" / "utils.po"
    catalog.write_text(catalog.read_text().replace('msgstr "%s 확인 중"', 'msgstr "확인 중"'))
    assert any("'Checking %s': the translation must keep the placeholders" in f
               for f in i18n.problems(kit_root=root, lang="ko"))


def test_the_tools_report_in_korean_only_in_the_korean_release(korean_course, released_course):
    probe = ("import numpy as np\nfrom utils.gradient_check import grad_check_sparse\n"
             "x = np.ones(3)\ngrad_check_sparse(lambda w: float(np.sum(w * w)), x, 2 * x, 1)\n"
             "from utils.data_utils import find_cifar10_dir\n"
             "try:\n    find_cifar10_dir('/nonexistent')\nexcept FileNotFoundError as e:\n    print(e)\n")
    outputs = {}
    for lang, course in (("ko", korean_course), ("en", released_course)):
        outputs[lang] = subprocess.run([sys.executable, "-c", probe], cwd=Course(course).release,
                                       capture_output=True, text=True, check=True,
                                       env={"PATH": "/usr/bin:/bin"}).stdout
    assert outputs["ko"].startswith("수치적: 2.000000 해석적: 2.000000, 상대 오차: "), outputs["ko"]
    assert "CIFAR-10을 찾지 못했습니다" in outputs["ko"], outputs["ko"]
    assert outputs["en"].startswith("numerical: 2.000000 analytic: 2.000000, relative error: ")
    assert "CIFAR-10 not found" in outputs["en"] and not HANGUL.search(outputs["en"])
    assert not (Course(released_course).release / "utils" / "locale").exists()


def test_a_translation_that_drops_a_solution_marker_or_changes_code_is_refused(tmp_path):
    root = kit_copy(tmp_path)
    table = root / "i18n" / "ko" / "notebooks" / "svm.ipynb.yaml"
    text = table.read_text()
    table.write_text(text.replace("    ### END SOLUTION\n", "", 1))
    found = i18n.problems(kit_root=root, lang="ko")
    assert len(found) == 1 and "markers" in found[0] and "'q_svm_gradient'" in found[0], found
    # A "translated" docstring that smuggles in code changes the syntax tree: refused.
    source = "classifiers/linear_svm.py"
    english = (REPO / source).read_text()
    entries = i18n.load_table(i18n.table_path(REPO, "ko", source))
    entries["svm_loss_vectorized.__doc__"] = dict(
        entries["svm_loss_vectorized.__doc__"],
        ko='"""벡터화 구현."""\n    reg = 0')
    with pytest.raises(KitError, match="changed code"):
        i18n.translate_text(source, english, entries, "ko")


# --- the Korean release against the English one ------------------------------------------

def test_code_and_test_cells_are_identical_and_the_text_is_korean(korean_course, released_course):
    for name in ("svm.ipynb", "softmax.ipynb"):
        for part in ("release", "source"):
            folder = lambda course: getattr(Course(course), part)  # noqa: E731
            ko = nbformat.read(folder(korean_course) / name, as_version=4).cells
            en = nbformat.read(folder(released_course) / name, as_version=4).cells
            assert [c.cell_type for c in ko] == [c.cell_type for c in en]
            for k, e in zip(ko, en):
                strip = lambda m: {**m, "nbgrader": {**m["nbgrader"], "checksum": None}}  # noqa: E731
                if e.cell_type == "code" and part == "release" and e.metadata["nbgrader"]["solution"]:
                    # A code cell students write in: the release's stub, its comment in Korean.
                    assert strip(k.metadata) == strip(e.metadata), name
                    assert i18n.code_of(k.source) == i18n.code_of(e.source), k.source
                elif e.cell_type == "code":  # nbgrader's checksum included: the same cell
                    assert k.metadata == e.metadata, name
                    assert k.source == e.source, f"{name} {e.metadata['nbgrader']['grade_id']}"
                else:  # the same grading flags and id; the checksum is of the (other) text
                    assert strip(k.metadata) == strip(e.metadata), name
                    # nbgrader's placeholder stays as it is: the student check looks for it.
                    text = k.source.replace("YOUR ANSWER HERE", "")
                    assert hangul_share(text) > 0.5, f"{name}: not Korean: {k.source[:200]}"
    for path in sorted((Course(released_course).release / "classifiers").glob("*.py")):
        korean = Course(korean_course).release / "classifiers" / path.name
        assert i18n.code_of(korean.read_text()) == i18n.code_of(path.read_text()), path.name
        assert path.name == "__init__.py" or HANGUL.search(korean.read_text()), path.name
    for path in sorted((Course(released_course).release / "utils").glob("*.py")):
        assert (Course(korean_course).release / "utils" / path.name).read_bytes() == path.read_bytes()
    readme = (Course(korean_course).release / "README.md").read_text()
    assert "## 용어집" in readme and "| 힌지 손실 | hinge loss |" in readme


def test_terms_come_with_the_english_at_first_use(korean_course):
    text = "\n".join(c.source for name in ("svm.ipynb", "softmax.ipynb")
                     for c in nbformat.read(Course(korean_course).source / name, as_version=4).cells)
    for term in ("손실 함수(loss function)", "힌지 손실, hinge loss", "규제(regularization)",
                 "가중치(weights)", "점수(score)", "미니배치(minibatch)", "경사 하강법(stochastic gradient\n",
                 "수치적 기울기(numerical gradient)", "해석적 기울기(analytic gradient)",
                 "소프트맥스(Softmax)", "교차 엔트로피(cross-entropy)"):
        assert term in text, term


def test_students_read_no_english_stub_or_docstring_header(korean_course, released_course):
    """What the release writes where solutions were, and the docstrings' headers, are Korean
    (i18n/ko/stubs.yaml, the glossary); the English release keeps nbgrader's and the kit's."""
    english = ("YOUR ANSWER HERE", "YOUR CODE HERE", "not implemented yet", "see the TODO above",
               "Inputs:", "Returns:", "Returns a tuple", "define the loss", "iteration %d")
    for course, lang in ((korean_course, "ko"), (released_course, "en")):
        folder = Course(course).release
        texts = [(f"{nb} cell {i}", c.source) for nb in ("svm.ipynb", "softmax.ipynb")
                 for i, c in enumerate(nbformat.read(folder / nb, as_version=4).cells)]
        texts += [(p.name, p.read_text()) for p in sorted((folder / "classifiers").glob("*.py"))]
        texts.append(("README.md", (folder / "README.md").read_text()))
        found = [f"{where}: {word!r}" for where, text in texts for word in english if word in text]
        if lang == "ko":
            assert not found, "English left where Korean students read:\n" + "\n".join(found)
        else:
            assert {"'YOUR ANSWER HERE'", "'YOUR CODE HERE'", "'not implemented yet'"} <= \
                {f.split(": ", 1)[1] for f in found}
    folder = Course(korean_course).release
    # Every message a stub raises, and every answer cell, as the Korean student gets them.
    for path in sorted((folder / "classifiers").glob("*.py")):
        for line in path.read_text().splitlines():
            if "raise NotImplementedError(" in line:
                assert HANGUL.search(line), f"{path.name}: {line.strip()}"
    for nb in ("svm.ipynb", "softmax.ipynb"):
        for cell in nbformat.read(folder / nb, as_version=4).cells:
            if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "markdown":
                # the prompt, then the Korean placeholder: no English word (nbgrader's is not there)
                assert re.fullmatch(r"\*\*답변:\*\*\s+여기에 답을 쓰세요", cell.source.strip()), cell.source
                assert not re.search(r"[A-Za-z]", cell.source), cell.source
            elif cell.metadata.get("nbgrader", {}).get("solution"):
                lines = [line.strip() for line in cell.source.splitlines()]
                at = lines.index("# 여기에 코드를 쓰세요")
                assert lines[at + 1] == "raise NotImplementedError()", cell.source
    # The student check (the same code in both editions) reads such a cell as unanswered.
    from utils import check as student_check
    assert student_check.unanswered("**답변:**\n\n")


def test_the_korean_student_check_tells_untouched_answers_from_written_ones(korean_course, tmp_path):
    """The student check as the Korean release ships it (its utils/ and utils/locale/) lists an
    answer cell left with the Korean placeholder as unwritten, and one the student wrote in as
    written (the written-answer part of `python -m utils.check`, without running the tests)."""
    folder = tmp_path / "linear_classifiers"
    shutil.copytree(Course(korean_course).release, folder)
    nb = nbformat.read(folder / "svm.ipynb", as_version=4)
    answers = [c for c in nb.cells if c.cell_type == "markdown"
               and c.metadata.get("nbgrader", {}).get("solution")]
    assert "여기에 답을 쓰세요" in answers[0].source
    answers[1].source = answers[1].source.replace("여기에 답을 쓰세요", "마진이 1이므로 손실은 C - 1입니다.")
    nbformat.write(nb, folder / "svm.ipynb")
    script = ("import nbformat\nfrom utils import check\n"
              "nbs = {n: nbformat.read(n, as_version=4) for n in check.NOTEBOOKS}\n"
              "print('COUNT', check.print_answers_to_write(nbs))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True, text=True,
                          timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(folder)})
    assert proc.returncode == 0, proc.stderr
    total = sum(1 for name in ("svm.ipynb", "softmax.ipynb")
                for c in nbformat.read(folder / name, as_version=4).cells if c.cell_type == "markdown"
                and c.metadata.get("nbgrader", {}).get("solution") and c.metadata["nbgrader"].get("grade"))
    assert f"COUNT {total - 1}" in proc.stdout, proc.stdout
    assert "1개 작성함" in proc.stdout, proc.stdout   # the filled answer counts as written


def test_the_korean_release_holds_no_solution_or_hidden_test(korean_course):
    """tests/test_release.py's leak check, on the Korean release."""
    source, released = Course(korean_course).source, Course(korean_course).release
    assert len(release.secret_lines(source)) > 50
    assert release.check_release(source, released) == []
    names = zipfile.ZipFile(korean_course.parent / "dist" / "linear_classifiers.zip").namelist()
    assert {n.split("/")[1] for n in names if n.count("/") == 1} == {
        "svm.ipynb", "softmax.ipynb", "README.md", "requirements.txt"}


def test_the_korean_release_gives_nothing_away(korean_course):
    """The giveaway patterns of tests/giveaways.py (formulas, recipes, grader machinery:
    mostly LaTeX and code, the same in both languages), on the Korean release."""
    from giveaways import GIVEAWAYS, student_texts
    found = [f"{what}: {where}: {m.group(0)!r}" for what, pattern in GIVEAWAYS
             for where, text in student_texts(Course(korean_course).release)
             for m in re.finditer(pattern, text)]
    assert not found, "\n".join(found)


# --- grading: the same in both editions (real nbgrader runs) ------------------------------

@pytest.mark.slow
def test_the_korean_demo_grades_the_three_examples_as_expected(tmp_path, cifar10_dir):
    env_run = subprocess.run(
        [sys.executable, "-m", "kit", "demo", "--lang", "ko", "--course", str(tmp_path / "course"),
         "--dist", str(tmp_path / "dist"), "--tests-only", "--jobs", "2"],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
        env={**__import__("os").environ, "CIFAR10_DIR": cifar10_dir})
    out = env_run.stdout
    assert env_run.returncode == 0, out[-3000:] + env_run.stderr[-3000:]
    for student in ("demo_reference", "demo_untouched", "demo_partial"):
        line = next(l for l in out.splitlines() if l.strip().startswith(student) and "expected" in l)
        assert line.rstrip().endswith(": ok"), line
    released = Course(tmp_path / "course").release
    assert HANGUL.search((released / "svm.ipynb").read_text())


@pytest.mark.slow
def test_an_english_submission_grades_in_full_in_the_korean_course(korean_course, released_course,
                                                                  tmp_path, cifar10_dir):
    english = reference_submission(released_course, tmp_path / "english_reference")
    assert not HANGUL.search((english / "svm.ipynb").read_text())
    collect_all(korean_course, [english])
    result = grade(korean_course, ["english_reference"], cifar10_dir,
                   run_notebooks=False)["english_reference"]
    got, most = result.totals()
    assert most > 0 and got == most, (got, most, result.problems)


@pytest.mark.slow
def test_the_student_check_names_the_korean_questions(korean_course, tmp_path, cifar10_dir):
    with zipfile.ZipFile(korean_course.parent / "dist" / "linear_classifiers.zip") as zf:
        zf.extractall(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "utils.check"], cwd=tmp_path / "linear_classifiers",
                          capture_output=True, text=True, timeout=900,
                          env={**__import__("os").environ, "CIFAR10_DIR": cifar10_dir})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # The report in Korean (gettext catalogue in utils/locale/), the questions by their Korean names.
    assert "인라인 질문 1 (3점)" in proc.stdout and "질문 4 (2점)" in proc.stdout, proc.stdout
    assert "공개 테스트 점수:" in proc.stdout and "아직 쓰지 않은 서술형 답" in proc.stdout, proc.stdout
