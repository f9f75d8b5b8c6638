"""The Korean edition's words and strings (issue 26, item 8), without building a release:

- the glossary (i18n/ko/glossary.yaml) flags the words the edition no longer uses, in every
  kind of unit (notebook cells, docstrings, comments, tool messages, the README), and its
  headers; the repository's translation follows it;
- the messages the code prints or raises are units: translated, with their placeholders, and
  a "translation" that is code is refused;
- the stubs the release writes come in the edition's language and keep their code.
(The Korean release itself is checked in tests/e2e/test_korean.py.)
"""
import shutil

import pytest

from kit import i18n, release
from kit.course import KitError
from kit_helpers import REPO


def kit_copy(tmp_path):
    for part in ("notebooks", "classifiers", "student", "i18n", "utils", "kit"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=release.JUNK)
    return tmp_path


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_repository_follows_the_glossary():
    glossary = i18n.load_glossary(REPO, "ko")
    assert len(glossary["use"]) >= 4 and len(glossary["avoid"]) >= 4
    assert [p for p in i18n.problems(kit_root=REPO, lang="ko") if "glossary" in p] == []


def test_the_words_the_glossary_replaced_are_flagged_where_they_are(tmp_path):
    root = kit_copy(tmp_path)
    ko = root / "i18n" / "ko"
    edit(ko / "notebooks" / "svm.ipynb.yaml", "L2 규제", "L2 정규화")        # regularization
    edit(ko / "classifiers" / "softmax.py.yaml", "샘플", "예제")               # data examples
    edit(ko / "notebooks" / "svm.ipynb.yaml", "기본 점검", "상식 점검")        # sanity check
    edit(ko / "student" / "README.md.yaml", "공개 테스트를", "보이는 테스트를")  # visible tests
    edit(ko / "utils.po", "비공개 테스트는", "숨겨진 테스트는")                  # hidden tests
    edit(ko / "classifiers" / "linear_svm.py.yaml", "입력:", "Inputs:")        # headers
    found = "\n".join(i18n.problems(kit_root=root, lang="ko"))
    for where, word in (("notebooks/svm.ipynb: 'svm_loss_md'", "'정규화'"),
                        ("classifiers/softmax.py: 'module.__doc__'", "'예제'"),
                        ("notebooks/svm.ipynb: 'svm_task_md'", "'상식 점검'"),
                        ("student/README.md: 'text'", "'보이는 테스트'"),
                        ("utils/check.py:", "'숨겨진 테스트'"),
                        ("classifiers/linear_svm.py: 'svm_loss_naive.__doc__'", "'Inputs"),):
        assert any(line.startswith(where) and f"{word}" in line and "glossary" in line
                   for line in found.splitlines()), (where, word, found)
    # Where the English says regularization, the Korean must say 규제 (here: it no longer does).
    assert "'svm_loss_md': the English says 'regulariz'" in found, found


def test_normalization_may_be_정규화_but_regularization_may_not(tmp_path):
    glossary = i18n.load_glossary(REPO, "ko")
    assert not i18n.glossary_problems("x", "u", "unnormalized scores", "정규화되지 않은 점수", glossary)
    assert i18n.glossary_problems("x", "u", "the regularization term", "정규화 항", glossary)
    assert not i18n.glossary_problems("x", "u", "the regularization term", "규제 항", glossary)


def test_a_bad_glossary_is_refused(tmp_path):
    root = kit_copy(tmp_path)
    (root / "i18n" / "ko" / "glossary.yaml").write_text("use:\n  - en: regulariz\n", encoding="utf-8")
    with pytest.raises(KitError, match="glossary.yaml: expected each 'use' rule"):
        i18n.problems(kit_root=root, lang="ko")


def test_printed_and_raised_messages_are_units_and_stay_messages(tmp_path):
    source = "classifiers/linear_classifier.py"
    english = (REPO / source).read_text()
    units = i18n.units_of(source, english)
    assert units["LinearClassifier.train$1"][2] == '"iteration %d / %d: loss %f"'
    assert units["LinearClassifier.loss$1"][2] == '"subclasses of LinearClassifier define the loss"'
    table = i18n.load_table(i18n.table_path(REPO, "ko", source))
    korean = i18n.translate_text(source, english, table, "ko")
    assert '"반복 %d / %d: 손실 %f" % (it, num_iters, loss)' in korean
    # Solution regions hold no unit: the reference stays as the instructor wrote it.
    assert not any("$" in uid for uid in i18n.units_of("m.py", (
        "def f():\n    ### BEGIN SOLUTION\n    print('secret')\n    ### END SOLUTION\n")))
    root = kit_copy(tmp_path)
    path = i18n.table_path(root, "ko", source)
    # A dropped placeholder would raise TypeError in the student's training loop.
    edit(path, '"반복 %d / %d: 손실 %f"', '"반복 %d: 손실 %f"')
    assert any("'LinearClassifier.train$1': the translation must keep the placeholders" in p
               for p in i18n.problems(kit_root=root, lang="ko"))
    # A "message" that calls code is code, and refused.
    edit(path, '"반복 %d: 손실 %f"', '"반복 %d / %d: 손실 %f" + str(exit())')
    assert any("changed code" in p for p in i18n.problems(kit_root=root, lang="ko"))


def test_stubs_are_translated_and_keep_their_code(tmp_path):
    english, korean = i18n.stubs(lang="en"), i18n.stubs(lang="ko")
    assert english["answer cell"] == "YOUR ANSWER HERE" and korean["answer cell"] == "여기에 답을 쓰세요"
    assert english["code cell"].endswith("raise NotImplementedError()")
    stubbed = release.cut_solutions((REPO / "classifiers" / "linear_svm.py").read_text(),
                                    stub=korean["function"])
    assert 'raise NotImplementedError("svm_loss_naive: 아직 구현하지 않았습니다' in stubbed
    assert i18n.code_of(stubbed) == i18n.code_of(release.cut_solutions(
        (REPO / "classifiers" / "linear_svm.py").read_text()))
    root = kit_copy(tmp_path)
    path = root / "i18n" / "ko" / "stubs.yaml"
    edit(path, "raise NotImplementedError()", "pass")
    edit(path, '"{name}: 아직', '"아직')
    found = i18n.problems(kit_root=root, lang="ko")
    assert "i18n/ko/stubs.yaml: 'code cell': the translation changed code, not only the comment " \
           "and the message; compare it with the English" in found, found
    assert any(p.startswith("i18n/ko/stubs.yaml: 'function': the translation must keep the "
                            "placeholders") for p in found), found
    # An English stub that changes (nbgrader's default, the kit's) makes its translation stale.
    edit(path, "en_sha256: 65ff", "en_sha256: 0000")
    assert any("'function' changed in English after it was translated" in p
               for p in i18n.problems(kit_root=root, lang="ko"))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_student_readme_says_how_to_get_jupyterlab_in_korean(lang):
    text = (REPO / "student" / "README.md").read_text()
    if lang == "ko":
        table = i18n.load_table(i18n.table_path(REPO, "ko", "student/README.md"))
        text = i18n.translate_text("student/README.md", text, table, "ko")
    words = " ".join(text.split())
    assert "python -m pip install jupyterlab-language-pack-ko-KR" in words
    assert "Settings > Language" in words
    if lang == "ko":
        assert "한국어(Korean)를 고르세요" in words
        # The glossary gives the edition's own words with their English.
        for row in ("| 규제 | regularization |", "| 샘플 | example |", "| 기본 점검 | sanity check |",
                    "| 공개 테스트 / 비공개 테스트 | visible / hidden tests |"):
            assert row in text, row


def test_the_answer_placeholder_is_the_one_the_student_check_reads_as_unanswered(tmp_path):
    """The Korean answer cells' placeholder (stubs.yaml) and the student check's (utils.po's
    translation of nbgrader's "YOUR ANSWER HERE") are one sentence, and never empty: a cell the
    student left as handed out is then listed as unwritten."""
    catalog = i18n.read_catalog(REPO, "ko")
    assert catalog.get("YOUR ANSWER HERE").string == i18n.stubs(lang="ko")["answer cell"]
    root = kit_copy(tmp_path)
    edit(root / "i18n" / "ko" / "utils.po", 'msgstr "여기에 답을 쓰세요"', 'msgstr "여기에 답을 쓰시오"')
    found = i18n.problems(kit_root=root, lang="ko")
    assert any(p.startswith("i18n/ko/stubs.yaml: 'answer cell': i18n/ko/utils.po must translate "
                            "'YOUR ANSWER HERE' as '여기에 답을 쓰세요'") for p in found), found
    edit(root / "i18n" / "ko" / "stubs.yaml", "ko: 여기에 답을 쓰세요", "ko: ''")
    found = i18n.problems(kit_root=root, lang="ko")
    assert any("'answer cell': the placeholder is empty" in p for p in found), found
