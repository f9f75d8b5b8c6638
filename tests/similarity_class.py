"""A labelled class for `kit similarity`: independent correct solutions and planted copies.

Real submissions are mostly the course's own starter files of some year filled in, not the
kit's release: other imports, no module docstring, other TODO comments, and the naive SVM
loss loop the course GAVE (students only add the gradient lines to it). The starter files
themselves are another project's code and are not kept here; `course_form` rebuilds that
shape from the kit's reference files: each year's import lines (tests/starter_imports.py),
the TODO boxes reworded, the kit's docstrings and signatures (the course's, in substance),
and the given naive loop written as the kit's reference writes it (after normalizing names
it is the same token string as the course's).

Six students of different years wrote the seven stubs independently and differently
(loops, vectorized with fancy indexing, one-hot matrices and einsum, np.where and
take_along_axis, boolean masks and log-sum-exp, terse floats); `test_similarity`
checks each against the reference. Four copies were made of some of them: renamed and
reformatted; renamed with the functions reordered; split into helper functions; all of it
at once and handed in with another year's imports.
"""
import ast
import re
import shutil
from pathlib import Path

from starter_imports import IMPORTS

REPO = Path(__file__).resolve().parents[1]
FILES = {"linear_svm.py": ["svm_naive", "svm_vec"], "softmax.py": ["sm_naive", "sm_vec"],
         "linear_classifier.py": ["batch", "update", "predict"]}
SOLUTION = re.compile(r"^( *)### BEGIN SOLUTION\n.*?^ *### END SOLUTION\n", re.M | re.S)
TODO_LINE = re.compile(r"^( *)# (?!#).*#\n", re.M)
KIT_IMPORT = re.compile(r"^(import numpy as np|from \.(linear_svm|softmax) import .*)\n", re.M)

# The naive loss loop every edition of the course gives (the kit's stub asks for all of it).
GIVEN_NAIVE_SVM = """\
{before}for i in range(num_train):
    scores = X[i].dot(W)
    correct_class_score = scores[y[i]]
    for j in range(num_classes):
        if j == y[i]:
            continue
        margin = scores[j] - correct_class_score + 1  # note delta = 1
        if margin > 0:
            loss += margin
{inner}
# Right now the loss is a sum over all training examples, but we want it
# to be an average instead so we divide by num_train.
loss /= num_train

# Add regularization to the loss.
loss += reg * np.sum(W * W)

{after}"""


def indent(code, spaces):
    return "".join(" " * spaces + line if line.strip() else line for line in code.splitlines(keepends=True))


def naive_svm(inner, after, before=""):
    return GIVEN_NAIVE_SVM.format(before=before, inner=indent(inner.rstrip("\n") + "\n", 12),
                                  after=after)


STUDENTS = {
    # 2017: the classic one, `binary` matrix and all
    "y2017": (2017, {
        "svm_naive": naive_svm("dW[:, j] += X[i]\ndW[:, y[i]] -= X[i]\n", "dW /= num_train\ndW += 2 * reg * W\n"),
        "svm_vec": """\
num_train = X.shape[0]
scores = X.dot(W)
correct_class_scores = scores[np.arange(num_train), y].reshape(num_train, 1)
margins = np.maximum(0, scores - correct_class_scores + 1)
margins[np.arange(num_train), y] = 0
loss = np.sum(margins) / num_train
loss += reg * np.sum(W * W)
binary = margins
binary[margins > 0] = 1
row_sum = np.sum(binary, axis=1)
binary[np.arange(num_train), y] = -row_sum.T
dW = X.T.dot(binary) / num_train
dW += 2 * reg * W
""",
        "sm_naive": """\
num_train = X.shape[0]
num_classes = W.shape[1]
for i in range(num_train):
    f = X[i].dot(W)
    f -= np.max(f)
    p = np.exp(f) / np.sum(np.exp(f))
    loss += -np.log(p[y[i]])
    for j in range(num_classes):
        dW[:, j] += (p[j] - (j == y[i])) * X[i]
loss /= num_train
loss += reg * np.sum(W * W)
dW /= num_train
dW += 2 * reg * W
""",
        "sm_vec": """\
num_train = X.shape[0]
f = X.dot(W)
f -= np.max(f, axis=1, keepdims=True)
sum_f = np.sum(np.exp(f), axis=1, keepdims=True)
p = np.exp(f) / sum_f
loss = np.sum(-np.log(p[np.arange(num_train), y]))
ind = np.zeros_like(p)
ind[np.arange(num_train), y] = 1
dW = X.T.dot(p - ind)
loss /= num_train
loss += reg * np.sum(W * W)
dW /= num_train
dW += 2 * reg * W
""",
        "batch": "indices = np.random.choice(num_train, batch_size, replace=True)\n"
                 "X_batch = X[indices]\ny_batch = y[indices]\n",
        "update": "self.W += -learning_rate * grad\n",
        "predict": "y_pred = np.argmax(X.dot(self.W), axis=1)\n",
    }),
    # 2019: matmul operator, short capitals
    "y2019": (2019, {
        "svm_naive": naive_svm("dW[:, j] = dW[:, j] + X[i].T\ndW[:, y[i]] = dW[:, y[i]] - X[i].T\n",
                               "dW = dW / num_train + reg * 2 * W\n"),
        "svm_vec": """\
N = len(y)
S = X @ W
true = S[range(N), y][:, None]
M = S - true + 1
M[M < 0] = 0
M[range(N), y] = 0
loss = M.sum() / N + reg * (W ** 2).sum()
mask = (M > 0).astype(float)
mask[range(N), y] -= mask.sum(1)
dW = (X.T @ mask) / N + 2 * reg * W
""",
        "sm_naive": """\
N, C = X.shape[0], W.shape[1]
for n in range(N):
    logits = X[n] @ W
    logits = logits - logits.max()
    expo = np.exp(logits)
    total = expo.sum()
    loss = loss + np.log(total) - logits[y[n]]
    for c in range(C):
        share = expo[c] / total
        if c == y[n]:
            share = share - 1
        dW[:, c] = dW[:, c] + share * X[n]
loss = loss / N + reg * (W ** 2).sum()
dW = dW / N + 2 * reg * W
""",
        "sm_vec": """\
N = len(y)
logits = X @ W
logits = logits - logits.max(1)[:, None]
expo = np.exp(logits)
P = expo / expo.sum(1)[:, None]
loss = -np.log(P[range(N), y]).sum() / N + reg * (W ** 2).sum()
P[range(N), y] = P[range(N), y] - 1
dW = X.T @ P / N + 2 * reg * W
""",
        "batch": "pick = np.random.choice(np.arange(num_train), size=batch_size)\n"
                 "X_batch, y_batch = X[pick, :], y[pick]\n",
        "update": "self.W = self.W - learning_rate * grad\n",
        "predict": "scores = X @ self.W\ny_pred = scores.argmax(1)\n",
    }),
    # 2021: one-hot matrices and einsum
    "y2021": (2021, {
        "svm_naive": naive_svm("hit[i, j] = 1\nhit[i, y[i]] -= 1\n",
                               "dW = X.T.dot(hit) / num_train + 2 * reg * W\n",
                               before="hit = np.zeros((num_train, num_classes))\n"),
        "svm_vec": """\
n_samples = X.shape[0]
onehot = np.eye(W.shape[1])[y]
s = np.einsum('nd,dc->nc', X, W)
s_true = np.sum(s * onehot, axis=1, keepdims=True)
hinge = np.maximum(s - s_true + 1.0, 0.0) * (1 - onehot)
loss = hinge.sum() / n_samples + reg * np.sum(np.square(W))
active = (hinge > 0).astype(np.float64)
coef = active - onehot * active.sum(axis=1, keepdims=True)
dW = np.einsum('nd,nc->dc', X, coef) / n_samples + 2.0 * reg * W
""",
        "sm_naive": """\
n_samples, n_classes = X.shape[0], W.shape[1]
for idx in range(n_samples):
    s = np.einsum('d,dc->c', X[idx], W)
    s = s - np.max(s)
    log_probs = s - np.log(np.sum(np.exp(s)))
    loss -= log_probs[y[idx]]
    target = np.zeros(n_classes)
    target[y[idx]] = 1.0
    dW += np.outer(X[idx], np.exp(log_probs) - target)
loss = loss / n_samples + reg * np.sum(np.square(W))
dW = dW / n_samples + 2.0 * reg * W
""",
        "sm_vec": """\
n_samples = X.shape[0]
onehot = np.eye(W.shape[1])[y]
s = np.einsum('nd,dc->nc', X, W)
s = s - np.max(s, axis=1, keepdims=True)
log_probs = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
loss = -np.sum(log_probs * onehot) / n_samples + reg * np.sum(np.square(W))
dW = np.einsum('nd,nc->dc', X, np.exp(log_probs) - onehot) / n_samples + 2.0 * reg * W
""",
        "batch": "rng_idx = np.random.randint(0, num_train, size=batch_size)\n"
                 "X_batch = np.take(X, rng_idx, axis=0)\ny_batch = np.take(y, rng_idx)\n",
        "update": "np.subtract(self.W, learning_rate * grad, out=self.W)\n",
        "predict": "y_pred = np.einsum('nd,dc->nc', X, self.W).argmax(axis=1)\n",
    }),
    # 2022: matmul, np.where, take_along_axis, comments
    "y2022": (2022, {
        "svm_naive": naive_svm("dW[:, y[i]] += -X[i]\ndW[:, j] += X[i]\n",
                               "dW = dW / num_train\ndW = dW + 2 * reg * W\n"),
        "svm_vec": """\
num_examples = X.shape[0]
all_scores = np.matmul(X, W)
# score of the right class, one per row
right = np.take_along_axis(all_scores, y[:, None], axis=1)
diff = all_scores - right + 1
diff = np.where(diff > 0, diff, 0)
diff[np.arange(num_examples), y] = 0
loss = np.mean(np.sum(diff, axis=1)) + reg * np.sum(W * W)
indicator = np.where(diff > 0, 1.0, 0.0)
indicator[np.arange(num_examples), y] = -np.sum(indicator, axis=1)
dW = np.matmul(X.T, indicator) / num_examples + 2 * reg * W
""",
        "sm_naive": """\
num_examples = X.shape[0]
for ex in range(num_examples):
    row = np.matmul(X[ex], W)
    row = row - np.max(row)
    denom = np.sum(np.exp(row))
    loss += np.log(denom) - row[y[ex]]
    for k in range(W.shape[1]):
        prob_k = np.exp(row[k]) / denom
        dW[:, k] += np.where(k == y[ex], prob_k - 1, prob_k) * X[ex]
loss = loss / num_examples + reg * np.sum(W * W)
dW = dW / num_examples + 2 * reg * W
""",
        "sm_vec": """\
num_examples = X.shape[0]
all_scores = np.matmul(X, W)
all_scores = all_scores - np.max(all_scores, axis=1, keepdims=True)
denom = np.sum(np.exp(all_scores), axis=1, keepdims=True)
right = np.take_along_axis(all_scores, y[:, None], axis=1)
loss = np.mean(np.log(denom) - right) + reg * np.sum(W * W)
prob = np.exp(all_scores) / denom
prob[np.arange(num_examples), y] -= 1
dW = np.matmul(X.T, prob) / num_examples + 2 * reg * W
""",
        "batch": "chosen_rows = np.random.choice(num_train, batch_size)\n"
                 "X_batch = X[chosen_rows, :]\ny_batch = y[chosen_rows]\n",
        "update": "self.W -= learning_rate * grad\n",
        "predict": "y_pred = np.argmax(np.matmul(X, self.W), axis=1)\n",
    }),
    # 2024: boolean label masks, log-sum-exp
    "y2024": (2024, {
        "svm_naive": naive_svm("dW.T[j] += X[i]\ndW.T[y[i]] -= X[i]\n",
                               "dW *= 1.0 / num_train\ndW += reg * W * 2\n"),
        "svm_vec": """\
count = X.shape[0]
z = X.dot(W)
labels = np.zeros(z.shape, dtype=bool)
labels[np.arange(count), y] = True
gaps = z - z[labels][:, np.newaxis] + 1
gaps[labels] = 0
positive = gaps > 0
loss = gaps[positive].sum() / count + reg * (W * W).sum()
weights = positive.astype(W.dtype)
weights[labels] = -positive.sum(axis=1)
dW = X.T.dot(weights) / count + reg * W * 2
""",
        "sm_naive": """\
count = X.shape[0]
for r in range(count):
    z = X[r].dot(W)
    z_max = z.max()
    lse = z_max + np.log(np.exp(z - z_max).sum())
    loss += lse - z[y[r]]
    soft = np.exp(z - lse)
    soft[y[r]] -= 1
    dW += X[r][:, np.newaxis] * soft[np.newaxis, :]
loss = loss / count + reg * (W * W).sum()
dW = dW / count + reg * W * 2
""",
        "sm_vec": """\
count = X.shape[0]
z = X.dot(W)
z_max = z.max(axis=1, keepdims=True)
lse = z_max + np.log(np.exp(z - z_max).sum(axis=1, keepdims=True))
labels = np.zeros(z.shape, dtype=bool)
labels[np.arange(count), y] = True
loss = (lse.ravel() - z[labels]).sum() / count + reg * (W * W).sum()
soft = np.exp(z - lse) - labels
dW = X.T.dot(soft) / count + reg * W * 2
""",
        "batch": "order = np.random.randint(num_train, size=batch_size)\nX_batch = X[order]\ny_batch = y[order]\n",
        "update": "self.W += -1 * learning_rate * grad\n",
        "predict": "z = X.dot(self.W)\ny_pred = z.argmax(axis=-1)\n",
    }),
    # 2018: terse, float literals everywhere
    "y2018": (2018, {
        "svm_naive": naive_svm("grad_update = X[i]\ndW[:, j] += grad_update\ndW[:, y[i]] -= grad_update\n",
                               "dW = dW / float(num_train) + 2.0 * reg * W\n"),
        "svm_vec": """\
N = X.shape[0]
sc = X.dot(W)
m = np.maximum(0., sc - sc[np.arange(N), y][:, None] + 1.)
m[np.arange(N), y] = 0.
loss = m.sum() / float(N) + reg * np.sum(W ** 2)
g = (m > 0) * 1.
g[np.arange(N), y] = -g.sum(axis=1)
dW = X.T.dot(g) / float(N) + 2. * reg * W
""",
        "sm_naive": """\
N = X.shape[0]
for i in range(N):
    sc = X[i].dot(W)
    sc -= sc.max()
    e = np.exp(sc)
    pr = e / e.sum()
    loss -= np.log(pr[y[i]])
    pr[y[i]] -= 1.
    dW += np.outer(X[i], pr)
loss = loss / float(N) + reg * np.sum(W ** 2)
dW = dW / float(N) + 2. * reg * W
""",
        "sm_vec": """\
N = X.shape[0]
sc = X.dot(W)
sc -= sc.max(axis=1)[:, None]
e = np.exp(sc)
pr = e / e.sum(axis=1)[:, None]
loss = -np.log(pr[np.arange(N), y]).sum() / float(N) + reg * np.sum(W ** 2)
pr[np.arange(N), y] -= 1.
dW = X.T.dot(pr) / float(N) + 2. * reg * W
""",
        "batch": "b = np.random.choice(num_train, batch_size, replace=True)\nX_batch, y_batch = X[b], y[b]\n",
        "update": "self.W -= learning_rate * grad\n",
        "predict": "y_pred = X.dot(self.W).argmax(axis=1)\n",
    }),
}

# The copy of y2022 split into helper functions (module level, after the originals).
SPLIT_HELPERS = {
    "linear_svm.py": """

def hinge_margins(all_scores, y, n):
    right = np.take_along_axis(all_scores, y[:, None], axis=1)
    diff = all_scores - right + 1
    diff = np.where(diff > 0, diff, 0)
    diff[np.arange(n), y] = 0
    return diff


def hinge_gradient(X, diff, y, n, reg, W):
    indicator = np.where(diff > 0, 1.0, 0.0)
    indicator[np.arange(n), y] = -np.sum(indicator, axis=1)
    return np.matmul(X.T, indicator) / n + 2 * reg * W
""",
    "softmax.py": """

def row_loss(row, label):
    row = row - np.max(row)
    denom = np.sum(np.exp(row))
    return np.log(denom) - row[label], row, denom


def stable_scores(all_scores):
    all_scores = all_scores - np.max(all_scores, axis=1, keepdims=True)
    denom = np.sum(np.exp(all_scores), axis=1, keepdims=True)
    return all_scores, denom
""",
}
SPLIT_ANSWERS = {
    "svm_vec": """\
num_examples = X.shape[0]
all_scores = np.matmul(X, W)
diff = hinge_margins(all_scores, y, num_examples)
loss = np.mean(np.sum(diff, axis=1)) + reg * np.sum(W * W)
dW = hinge_gradient(X, diff, y, num_examples, reg, W)
""",
    "sm_naive": """\
num_examples = X.shape[0]
for ex in range(num_examples):
    part, row, denom = row_loss(np.matmul(X[ex], W), y[ex])
    loss += part
    for k in range(W.shape[1]):
        prob_k = np.exp(row[k]) / denom
        dW[:, k] += np.where(k == y[ex], prob_k - 1, prob_k) * X[ex]
loss = loss / num_examples + reg * np.sum(W * W)
dW = dW / num_examples + 2 * reg * W
""",
    "sm_vec": """\
num_examples = X.shape[0]
all_scores, denom = stable_scores(np.matmul(X, W))
right = np.take_along_axis(all_scores, y[:, None], axis=1)
loss = np.mean(np.log(denom) - right) + reg * np.sum(W * W)
prob = np.exp(all_scores) / denom
prob[np.arange(num_examples), y] -= 1
dW = np.matmul(X.T, prob) / num_examples + 2 * reg * W
""",
}

# copy name: (original, year handed in with, renames, reformat, reorder, split into helpers)
COPIES = {
    "copy-renamed-y2017": ("y2017", 2018, {"binary": "flags", "row_sum": "per_row", "sum_f": "normaliser",
                                           "indices": "sample", "correct_class_scores": "truth",
                                           "margins": "hinge", "f": "logit", "p": "prob", "ind": "onehot"},
                           True, False, False),
    "copy-reordered-y2021": ("y2021", 2021, {"onehot": "Y", "hinge": "H", "active": "on", "coef": "G",
                                             "n_samples": "m", "log_probs": "lp", "s_true": "correct"},
                             False, True, False),
    "copy-helpers-y2022": ("y2022", 2023, {"num_examples": "n_ex", "all_scores": "out", "indicator": "ind",
                                           "prob": "p", "denom": "z"},
                           False, False, True),
    "copy-everything-y2019": ("y2019", 2023, {"mask": "active_mask", "logits": "z", "expo": "ez",
                                              "total": "norm", "share": "q", "pick": "sel", "true": "target"},
                              True, True, False),
}
INDEPENDENT = sorted(STUDENTS)


def course_form(name, answers, year, helpers=""):
    """The kit's reference file `name` as that year's course starter, filled with `answers`."""
    text = (REPO / "classifiers" / name).read_text()
    text = KIT_IMPORT.sub("", text)
    if text.startswith('"""'):                  # the course's files have no module docstring
        text = text[text.index('"""', 3) + 3:].lstrip("\n")
    text = "\n".join(IMPORTS[year][name]) + "\n\n" + text
    text = TODO_LINE.sub(lambda m: f"{m.group(1)}# TODO ({year} starter): your code goes here.{' ' * 20}#\n", text)
    stubs = iter(FILES[name])
    text = SOLUTION.sub(lambda m: "".join(
        [m.group(1) + "# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n",
         indent(answers[next(stubs)], len(m.group(1))),
         m.group(1) + "# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"]), text)
    return text + helpers


def rename(text, renames):
    for old, new in renames.items():
        text = re.sub(rf"(?<![.\w%']){old}\b", new, text)
    return text


def reformat(text):
    """Blank lines after assignments, spaces around operators and inside brackets changed."""
    text = re.sub(r"^( *\w+ (=|\+=|-=) .*)$", r"\1\n", text, flags=re.M)
    return text.replace("[:, ", "[ :, ").replace(", axis=", ",axis=").replace(" / ", "/")


def reorder_functions(text):
    """The module's top-level functions in reverse order (all else where it was)."""
    lines = text.splitlines(keepends=True)
    functions = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]
    if len(functions) < 2:
        return text
    first, last = functions[0].lineno - 1, functions[-1].end_lineno
    chunks = ["".join(lines[f.lineno - 1:f.end_lineno]) + "\n\n\n" for f in functions]
    return "".join(lines[:first]) + "".join(reversed(chunks)).rstrip("\n") + "\n" + "".join(lines[last:])


def write_submission(release, target, files):
    """A submission folder: the untouched release with these classifiers/ files."""
    shutil.copytree(release, target)
    for name, text in files.items():
        (target / "classifiers" / name).write_text(text)
    return target


def independent_files(student):
    year, answers = STUDENTS[student]
    return {name: course_form(name, answers, year) for name in FILES}


def copy_files(copy):
    original, year, renames, reformatted, reordered, split = COPIES[copy]
    answers = dict(STUDENTS[original][1])
    if split:
        answers.update(SPLIT_ANSWERS)
    files = {}
    for name in FILES:
        text = course_form(name, answers, year, SPLIT_HELPERS.get(name, "") if split else "")
        text = rename(text, renames)
        if reformatted:
            text = reformat(text)
        if reordered:
            text = reorder_functions(text)
        files[name] = text
    return files


def labelled_class(release, root):
    """{name: submission folder} of every independent solution and copy, and the copy pairs."""
    root = Path(root)
    folders = {s: write_submission(release, root / s, independent_files(s)) for s in INDEPENDENT}
    folders.update({c: write_submission(release, root / c, copy_files(c)) for c in COPIES})
    copies = {frozenset((c, COPIES[c][0])) for c in COPIES}
    return folders, copies
