"""`kit similarity` on real submissions collected into a released course.

The class: the reference solution (alice); a copy of it with variables renamed, functions
reordered and blank lines added (bob); a second correct solution written independently and
differently (carol, checked against the reference below); the untouched release (erin).
A known-solutions folder holds a copy of carol's SVM file. Carol's code and the known
file's name carry markup that must arrive escaped.
"""
import csv
import html.parser
import re
import shutil

import numpy as np
import pytest

from kit import similarity, similarity_report, similarity_sources
from kit.__main__ import main as kit_main
from kit.course import Course
from kit_helpers import collect_all, reference_submission, untouched_submission
from similarity_class import FILES, course_form, labelled_class, naive_svm

HOSTILE_CODE = "</pre></div></script><script>alert(1)</script><img src=x onerror=alert(2)>"
HOSTILE_NAME = "<img src=x onerror=alert(3)>"   # a folder of the known solutions

# Carol's answers, one per stub of the release (in the order the stubs appear in each file).
CAROL = {
    "linear_svm.py": [
        """\
n = X.shape[0]
for k in range(n):
    s = W.T @ X[k]
    target = s[y[k]]
    for c in range(W.shape[1]):
        if c != y[k] and s[c] - target + 1 > 0:
            loss = loss + (s[c] - target + 1)
            dW[:, c] = dW[:, c] + X[k]
            dW[:, y[k]] = dW[:, y[k]] - X[k]
loss = loss / n + reg * (W ** 2).sum()
dW = dW / n + reg * 2.0 * W
""",
        f"""\
n = len(y)
S = X @ W
idx = np.arange(n)
hinge = S - S[idx, y].reshape(-1, 1) + 1
# {HOSTILE_CODE}
hinge[idx, y] = 0
hinge = np.clip(hinge, 0, None)
note = "{HOSTILE_CODE}"
loss = hinge.sum() / n + reg * (W ** 2).sum()
G = (hinge > 0) * 1.0
G[idx, y] = -G.sum(axis=1)
dW = X.T @ G / n + 2 * reg * W
"""],
    "softmax.py": [
        """\
n = X.shape[0]
for k in range(n):
    z = W.T @ X[k]
    z = z - z.max()
    p = np.exp(z) / np.exp(z).sum()
    loss -= np.log(p[y[k]])
    p[y[k]] -= 1
    dW += np.outer(X[k], p)
loss = loss / n + reg * (W ** 2).sum()
dW = dW / n + 2 * reg * W
""",
        """\
n = len(y)
Z = X @ W
Z = Z - Z.max(axis=1)[:, None]
E = np.exp(Z)
P = E / E.sum(axis=1)[:, None]
idx = np.arange(n)
loss = -np.log(P[idx, y]).mean() + reg * (W ** 2).sum()
P[idx, y] -= 1
dW = X.T @ P / n + 2 * reg * W
"""],
    "linear_classifier.py": [
        "picks = np.random.choice(num_train, batch_size)\nX_batch, y_batch = X[picks], y[picks]\n",
        "self.W = self.W - learning_rate * grad\n",
        "y_pred = (X @ self.W).argmax(axis=1)\n"],
}

# Bob's renames: every name the reference's solution code gives its own values.
RENAMES = {"num_train": "n_examples", "num_classes": "n_cls", "scores": "class_scores",
           "correct_class_score": "true_score", "correct_class_scores": "true_scores",
           "margin": "gap", "margins": "gaps", "coeff": "weights_of_x", "rows": "every_row",
           "shifted": "stable", "log_norm": "log_z", "probs": "p_hat", "batch_indices": "chosen",
           "results": "found", "best_val": "top_accuracy", "learning_rates": "lrs"}
STUB = re.compile(r"^( *)raise NotImplementedError\(\"(?!subclasses).*\n", re.M)


def fill_stubs(text, answers):
    """Replace each stub of a release file, in order, by an answer (indented like it)."""
    answers = iter(answers)

    def answer(match):
        indent = match.group(1)
        return "".join(indent + line if line.strip() else line
                       for line in next(answers).splitlines(keepends=True))
    return STUB.sub(answer, text)


def reorder_functions(text):
    """The module's top-level functions in reverse order (all else where it was)."""
    import ast
    lines = text.splitlines(keepends=True)
    functions = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]
    first, last = functions[0].lineno - 1, functions[-1].end_lineno
    chunks = ["".join(lines[f.lineno - 1:f.end_lineno]) + "\n\n\n" for f in functions]
    return "".join(lines[:first]) + "".join(reversed(chunks)).rstrip("\n") + "\n" + "".join(lines[last:])


def rename(text):
    for old, new in RENAMES.items():
        text = re.sub(rf"\b{old}\b", new, text)
    # reformatted too: a blank line after every assignment, spaces inside brackets
    return re.sub(r"^( *\w+ = .*)$", r"\1\n", text, flags=re.M).replace("[:, ", "[ :, ")


def copy_of(original, target):
    """A copy of a submission with names changed, functions reordered, lines reformatted."""
    shutil.copytree(original, target)
    for path in (target / "classifiers").glob("*.py"):
        text = rename(path.read_text())
        if path.name in ("linear_svm.py", "softmax.py"):
            text = reorder_functions(text)
        path.write_text(text)
    for name in ("svm.ipynb", "softmax.ipynb"):
        path = target / name
        path.write_text(rename(path.read_text()))
    return target


def independent_solution(course, target):
    untouched_submission(course, target)
    for name, answers in CAROL.items():
        path = target / "classifiers" / name
        path.write_text(fill_stubs(path.read_text(), answers))
    return target


def load_module(path, name):
    import importlib.util
    import sys
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def batch(released_course, tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    course = root / "course"
    # Only the release is needed: a fresh course keeps other modules' students out of the class.
    shutil.copytree(Course(released_course).release, Course(course).release)
    subs = root / "subs"
    alice = reference_submission(released_course, subs / "alice")
    copy_of(alice, subs / "bob")
    independent_solution(released_course, subs / "carol")
    untouched_submission(released_course, subs / "erin")
    collect_all(course, [subs / s for s in ("alice", "bob", "carol", "erin")])
    known = root / "known"
    (known / HOSTILE_NAME / "classifiers").mkdir(parents=True)
    shutil.copy(subs / "carol" / "classifiers" / "linear_svm.py", known / HOSTILE_NAME / "classifiers")
    shutil.copy(subs / "alice" / "svm.ipynb", known / "solved-svm.ipynb")   # a solved notebook
    result = similarity.run(course=course, known=known, verbose=False)
    return {"course": course, "subs": subs, "known": known, "result": result}


def score(result, a, b):
    """The pair's score (0 when nothing matched), whichever way round it was compared."""
    for p in result["pairs"]:
        if {p.a.name, p.b.name} == {a, b}:
            return p.score
    return 0.0


def test_carol_is_correct_and_written_differently(batch):
    """The independent solution really solves the assignment (else the test proves little)."""
    rng = np.random.default_rng(0)
    W, X, y = rng.normal(size=(7, 4)) * 0.1, rng.normal(size=(9, 7)), rng.integers(0, 4, size=9)
    ref = {n: load_module(batch["subs"] / "alice" / "classifiers" / f"{n}.py", f"ref_{n}")
           for n in ("linear_svm", "softmax")}
    carol = {n: load_module(batch["subs"] / "carol" / "classifiers" / f"{n}.py", f"carol_{n}")
             for n in ("linear_svm", "softmax")}
    for module, function in (("linear_svm", "svm_loss_naive"), ("linear_svm", "svm_loss_vectorized"),
                             ("softmax", "softmax_loss_naive"), ("softmax", "softmax_loss_vectorized")):
        want = getattr(ref[module], function)(W, X, y, 0.1)
        got = getattr(carol[module], function)(W, X, y, 0.1)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-10)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-12)


def test_the_renamed_reordered_copy_ranks_top(batch):
    result = batch["result"]
    students = [p for p in result["pairs"] if p.b.kind == "student"]
    assert {students[0].a.name, students[0].b.name} == {"alice", "bob"}, [
        (p.a.name, p.b.name, p.score) for p in students]
    top = score(result, "alice", "bob")
    assert top > 0.8
    # Independent solutions share a few idioms at most: far below the copy.
    for a, b in (("alice", "carol"), ("bob", "carol")):
        assert score(result, a, b) < top / 3, (a, b, score(result, a, b), top)


def test_the_untouched_release_is_similar_to_nothing(batch):
    result = batch["result"]
    assert [p for p in result["pairs"] if "erin" in (p.a.name, p.b.name)] == []
    erin = next(d for d in result["documents"] if d.name == "erin")
    assert erin.text == "" and erin.notes == []   # read, and nothing in it is erin's own


def test_a_known_solution_is_matched(batch):
    result = batch["result"]
    known = f"known:{HOSTILE_NAME}/classifiers/linear_svm.py"
    assert score(result, "carol", known) > 0.9
    assert score(result, "alice", known) < 0.2
    # a known notebook: alice's answer cells are in it (most of its own code, given cells
    # aside), and carol wrote no answer cell
    pair = next(p for p in result["pairs"] if {p.a.name, p.b.name} == {"alice", "known:solved-svm.ipynb"})
    assert pair.similarity_b > 0.6 and score(result, "carol", "known:solved-svm.ipynb") == 0
    with open(result["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == similarity_report.CSV_HEADER
    carols = [r for r in rows if r["a"] == "carol" and r["b"] == known]
    assert len(carols) == 1 and carols[0]["kind"] == "known" and carols[0]["a_lines"]
    # the pairs at or above the threshold, ranked; then how many were left out below it
    assert [int(r["rank"]) for r in rows[:-1]] == list(range(1, len(rows)))
    assert all(float(r["similarity_a_percent"]) >= 100 * similarity.THRESHOLD
               or float(r["similarity_b_percent"]) >= 100 * similarity.THRESHOLD for r in rows[:-1])
    left_out = [p for p in result["pairs"] if p.score < similarity.THRESHOLD]
    assert rows[-1]["rank"] == "" and rows[-1]["a"] == similarity_report.left_out_line(left_out, similarity.THRESHOLD)


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes = set(), set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def test_the_report_escapes_everything_a_student_wrote(batch):
    page = batch["result"]["html"].read_text()
    parser = Tags()
    parser.feed(page)
    assert parser.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p",
                           "ul", "li", "table", "tr", "th", "td", "a", "div", "pre", "mark", "span"}, parser.tags
    assert parser.attributes <= {"charset", "http-equiv", "content", "href", "id", "class"}, parser.attributes
    # ...and the hostile text is shown, as text: carol's code and the known file's name.
    assert html.escape(HOSTILE_CODE, quote=True) in page
    assert html.escape(HOSTILE_NAME, quote=True) in page
    assert "default-src 'none'" in page
    # the side-by-side view marks the matching regions of the copy
    assert page.count("<mark>") > 10 and 'id="pair-1"' in page


def test_the_command_line_writes_the_report(batch, tmp_path, capsys):
    code = kit_main(["similarity", "--course", str(batch["course"]), "--out", str(tmp_path / "out")])
    assert code == 0
    assert (tmp_path / "out" / "similarity.html").is_file()
    printed = capsys.readouterr().out
    assert re.search(r"\d+\.\d%\s+alice\s+~\s+bob", printed), printed


def test_unreadable_and_oversized_code_is_noted_not_read(batch, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(Course(batch["course"]).release, Course(course).release)
    folder = course / "submitted" / "mallory" / "linear_classifiers"
    shutil.copytree(batch["subs"] / "alice", folder)
    (folder / "svm.ipynb").write_text("[" * 100000)
    (folder / "classifiers" / "softmax.py").write_text("x = 1\n" * (similarity_sources.MAX_FILE_BYTES // 3))
    (folder / "classifiers" / "linear_svm.py").unlink()
    (folder / "classifiers" / "linear_svm.py").symlink_to("/etc/passwd")
    result = similarity.run(course=course, verbose=False)
    notes = " | ".join(result["documents"][0].notes)
    # 100,000 open brackets: refused by the structure limits before any parsing (kit/notebook_limits.py)
    assert "svm.ipynb is nested 100000 levels deep" in notes and "skipped" in notes
    assert f"softmax.py: larger than {similarity_sources.MAX_FILE_BYTES} bytes" in notes
    assert "linear_svm.py: not a regular file" in notes
    assert "root:" not in result["documents"][0].text


def test_no_release_is_an_error_that_says_what_to_do(tmp_path):
    from kit.course import KitError
    with pytest.raises(KitError, match="run `python -m kit release` first"):
        similarity.run(course=tmp_path, verbose=False)



# -- the labelled class: independent solutions of several years and planted copies ---------

@pytest.fixture(scope="module")
def labelled(released_course, tmp_path_factory):
    """tests/similarity_class.py's class handed in to a course of its own, compared with the
    kit's default base (the release and its stand-in for every edition's starter)."""
    root = tmp_path_factory.mktemp("labelled")
    course = root / "course"
    shutil.copytree(Course(released_course).release, Course(course).release)
    folders, copies = labelled_class(Course(released_course).release, root / "subs")
    for name, folder in folders.items():
        (course / "submitted" / name).mkdir(parents=True)
        shutil.move(str(folder), str(course / "submitted" / name / "linear_classifiers"))
    result = similarity.run(course=course, verbose=False)
    return {"course": course, "folders": folders, "copies": copies, "result": result}


def test_the_labelled_solutions_are_correct(labelled):
    """Every independent solution and every copy solves the assignment (else the class proves little)."""
    rng = np.random.default_rng(1)
    W, X, y = rng.normal(size=(7, 4)) * 0.1, rng.normal(size=(9, 7)), rng.integers(0, 4, size=9)
    ref = {n: load_module(batch_root() / f"{n}.py", f"ref2_{n}") for n in ("linear_svm", "softmax")}
    for name in labelled["folders"]:
        folder = labelled["course"] / "submitted" / name / "linear_classifiers" / "classifiers"
        for module, function in (("linear_svm", "svm_loss_naive"), ("linear_svm", "svm_loss_vectorized"),
                                 ("softmax", "softmax_loss_naive"), ("softmax", "softmax_loss_vectorized")):
            # the course's `past.builtins` may not be installed; it only shadows range here
            path = folder.parent.parent / f"{name}_{module}.py"
            path.write_text((folder / f"{module}.py").read_text().replace("from past.builtins import xrange\n", ""))
            got = getattr(load_module(path, f"{name}_{module}".replace("-", "_")), function)(W, X, y, 0.1)
            want = getattr(ref[module], function)(W, X, y, 0.1)
            np.testing.assert_allclose(got[0], want[0], rtol=1e-10, err_msg=f"{name} {function}")
            np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-12, err_msg=f"{name} {function}")


def batch_root():
    from kit.course import KIT_ROOT
    return KIT_ROOT / "classifiers"


def test_precision_and_recall_at_the_threshold(labelled):
    """Every planted copy is listed and ranks above every pair of independent solutions; no
    independent pair reaches the threshold: precision and recall 1 on the class."""
    result, copies = labelled["result"], labelled["copies"]
    scores = {frozenset((p.a.name, p.b.name)): p.score for p in result["pairs"]}
    names = sorted(labelled["folders"])
    every = {frozenset((a, b)) for i, a in enumerate(names) for b in names[i + 1:]}
    independent = {pair: scores.get(pair, 0.0) for pair in every - copies}
    copied = {pair: scores.get(pair, 0.0) for pair in copies}
    assert len(copied) == 4 and len(independent) == 41
    listed = {frozenset((p.a.name, p.b.name)) for p in result["listed"]}
    true_positives = len(listed & copies)
    precision, recall = true_positives / max(1, len(listed)), true_positives / len(copies)
    assert (precision, recall) == (1.0, 1.0), (sorted(copied.values()), sorted(independent.values())[-5:])
    assert min(copied.values()) >= similarity.THRESHOLD > max(independent.values())
    assert min(copied.values()) > max(independent.values())
    ranked = [frozenset((p.a.name, p.b.name)) for p in result["pairs"]]
    assert set(ranked[:len(copies)]) == copies
    # what makes the margin: independent solutions share no more than idioms
    assert max(independent.values()) < 0.3 and min(copied.values()) > 0.8, (copied, max(independent.values()))


def test_what_every_edition_gives_never_counts(labelled):
    """The import lines of every year and the naive loss loop the course gives are in every
    solution: no matching region of two independent solutions holds them."""
    result, copies = labelled["result"], labelled["copies"]
    for p in result["pairs"]:
        if frozenset((p.a.name, p.b.name)) in copies:
            continue
        for text, slices in ((p.a.text, p.slices_a), (p.b.text, p.slices_b)):
            for s, e in slices:
                region = text[s:e]
                for given in ("correct_class_score = scores[y[i]]", "if j == y[i]", "from past.builtins",
                              "from builtins import", "classifiers.linear_svm import", "loss += margin"):
                    assert given not in region, (p.a.name, p.b.name, given, region)


def test_the_page_lists_the_pairs_at_the_threshold_and_counts_the_rest(labelled):
    result = labelled["result"]
    page = result["html"].read_text()
    left_out = len(result["pairs"]) - len(result["listed"])
    assert len(result["listed"]) == 4 and left_out > 10
    assert f"{left_out} pairs scoring below the threshold of {100 * similarity.THRESHOLD:.0f}% are left out" in page
    assert page.count('<tr><td>') == len(result["listed"]) and page.count('<h2 id="pair-') == 4
    with open(result["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 and rows[-1]["a"].startswith(f"{left_out} pairs scoring below")


def starter(year, notebook_code=""):
    """A stand-in for the course's starter of `year`: the course's form of each file with
    nothing written but the given naive loop; a notebook with the given code."""
    stubs = {stub: "pass\n" for stubs in FILES.values() for stub in stubs}
    stubs["svm_naive"] = naive_svm("pass\n", "")
    return {name: course_form(name, stubs, year) for name in FILES}, notebook_code


# Code the course's notebooks give that the kit's notebooks do not have (written here, not the course's).
GIVEN_CELL = """\
mask = list(range(num_training, num_training + num_validation))
X_val, y_val = X_train[mask], y_train[mask]
mask = list(range(num_training))
X_train, y_train = X_train[mask], y_train[mask]
mask = np.random.choice(num_training, num_dev, replace=False)
X_dev, y_dev = X_train[mask], y_train[mask]
X_train = np.reshape(X_train, (X_train.shape[0], -1))
X_val = np.reshape(X_val, (X_val.shape[0], -1))
mean_image = np.mean(X_train, axis=0)
X_train -= mean_image
X_val -= mean_image
X_train = np.hstack([X_train, np.ones((X_train.shape[0], 1))])
X_val = np.hstack([X_val, np.ones((X_val.shape[0], 1))])
"""


def with_cell(folder, code):
    """The submission's svm.ipynb with a code cell of its own appended."""
    import json
    path = folder / "svm.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": code, "outputs": [],
                        "execution_count": None})
    path.write_text(json.dumps(nb))


def test_the_course_starter_given_as_base_never_counts(released_course, tmp_path):
    """Untouched starters of three editions, in the course's form and with the course's
    notebook code, are similar to nothing once the starter is the base (MOSS's base file);
    without --base only the notebook code the kit cannot know is left."""
    course = tmp_path / "course"
    shutil.copytree(Course(released_course).release, Course(course).release)
    base = tmp_path / "starters"
    for year in (2017, 2019, 2021):
        files, _ = starter(year)
        target = course / "submitted" / f"s{year}" / "linear_classifiers"
        shutil.copytree(Course(released_course).release, target)
        for name, text in files.items():
            (target / "classifiers" / name).write_text(text)
            (base / str(year) / "classifiers").mkdir(parents=True, exist_ok=True)
            (base / str(year) / "classifiers" / name).write_text(text)
        with_cell(target, GIVEN_CELL)
    shutil.copy(course / "submitted" / "s2021" / "linear_classifiers" / "svm.ipynb", base / "2021" / "svm.ipynb")
    without = similarity.run(course=course, verbose=False)
    # the kit's own base already drops the imports and the naive loop of every edition:
    # what matches is the notebook cell, which the kit cannot know
    for p in without["pairs"]:
        regions = "".join(p.a.text[s:e] for s, e in p.slices_a)
        assert "correct_class_score" not in regions and "builtins" not in regions, regions
        assert "mean_image" in regions
    with_base = similarity.run(course=course, base=[base], verbose=False, out=tmp_path / "out")
    assert with_base["pairs"] == [], [(p.a.name, p.b.name, p.score) for p in with_base["pairs"]]
    assert "--base folders" in with_base["html"].read_text()


def test_base_and_threshold_are_checked(batch, tmp_path):
    from kit.course import KitError
    with pytest.raises(KitError, match="expected --base to be a folder"):
        similarity.run(course=batch["course"], base=[tmp_path / "nothing"], verbose=False)
    for wrong in (-0.1, 1.5, "0.5", True):
        with pytest.raises(KitError, match="threshold"):
            similarity.run(course=batch["course"], threshold=wrong, verbose=False)


def test_the_command_line_takes_base_and_threshold(batch, tmp_path, capsys):
    base = tmp_path / "base"
    base.mkdir()
    code = kit_main(["similarity", "--course", str(batch["course"]), "--out", str(tmp_path / "out"),
                     "--base", str(base), "--base", str(base), "--threshold", "0"])
    assert code == 0
    printed = capsys.readouterr().out
    pairs = sum(p.b.kind == "student" for p in batch["result"]["pairs"])
    assert f"{pairs} pairs score at least 0%" in printed and "No pair was left out" in printed
    with pytest.raises(SystemExit):
        kit_main(["similarity", "--course", str(batch["course"]), "--threshold", "101"])


def test_a_notebook_over_the_structure_limits_is_skipped_with_a_note(tmp_path):
    """Similarity reads submitted notebooks itself: the same cell limit as collect and the
    grader (kit/notebook_limits.py), not 100,000 cells parsed and compared."""
    import json as _json
    from kit import notebook_limits
    path = tmp_path / "svm.ipynb"
    cells = [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [], "execution_count": None}]
    path.write_text(_json.dumps({"cells": cells * (notebook_limits.MAX_CELLS + 1), "metadata": {},
                                 "nbformat": 4, "nbformat_minor": 5}))
    notes = []
    assert similarity_sources.notebook_code_cells(path, notes, "bob: svm.ipynb") == []
    assert notes and "bob: svm.ipynb" in notes[0] and "skipped" in notes[0], notes
