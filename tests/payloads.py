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
