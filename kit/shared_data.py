"""CIFAR-10 prepared once per grading batch and shared read-only with every kernel.

Every notebook of every submission loads the same data set and turns it into the same
float64 arrays: at full size 3.4 s and 1.2 GB per copy, per kernel. The grader makes the
loader calls the instructor's notebooks make (found in their code cells), once, with the
kit's own `utils.data_utils`, and saves each array as a .npy file in a folder of its own.
Kernels get that folder bound read-only and named in `utils.data_utils.PREPARED_ENV`; the
loaders then map the files copy on write: the same values (the same code made them), one
copy in memory for all kernels, and a student's in-place change stays in that process.

Inputs: the CIFAR-10 folder and the source notebooks.
Returns: a `SharedData` (the folder and the kernels' environment), removed afterwards.
"""
import ast
import atexit
import contextlib
import io
import json
import os
import shutil
import stat
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

READ_ONLY_FILE, READ_ONLY_FOLDER, OPEN_FOLDER = 0o444, 0o555, 0o755
LOADERS = ("load_CIFAR10", "get_CIFAR10_data")


@dataclass(frozen=True)
class SharedData:
    """A prepared folder: bind `folder` read-only into each kernel and add `env` to its environment."""
    folder: str
    calls: tuple     # the prepared loader calls (utils.data_utils.prepared_key)

    @property
    def env(self):
        from utils.data_utils import PREPARED_ENV
        return {PREPARED_ENV: self.folder}


def loader_calls(notebook_texts):
    """The CIFAR-10 loader calls of the notebooks' code cells whose arguments are all literal,
    as (function name, keyword arguments); positional arguments are named from the
    function's signature. `load_CIFAR10(folder)` counts whatever its folder argument."""
    import inspect

    from utils import data_utils
    found = []
    for text in notebook_texts:
        nb = nbformat.reads(text, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue   # IPython magics and the like: nothing to prepare from this cell
            for node in ast.walk(tree):
                name = getattr(getattr(node, "func", None), "id", None) or \
                    getattr(getattr(node, "func", None), "attr", None)
                if not isinstance(node, ast.Call) or name not in LOADERS:
                    continue
                if name == "load_CIFAR10":
                    found.append((name, {}))
                    continue
                try:
                    args = [ast.literal_eval(a) for a in node.args]
                    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
                except ValueError:
                    continue   # computed arguments: such a call loads the data itself
                bound = inspect.signature(data_utils.get_CIFAR10_data).bind(*args, **kwargs)
                bound.apply_defaults()
                found.append((name, dict(bound.arguments)))
    unique = {json.dumps(call, sort_keys=True): call for call in found}
    return list(unique.values())


def prepare(*, data_dir, notebook_texts, folder):
    """Make every loader call of the notebooks on `data_dir` and save its arrays in `folder`
    (created; read-only afterwards). Returns the SharedData, or None when the notebooks
    make no loader call."""
    from utils import data_utils
    calls = loader_calls(notebook_texts)
    if not calls:
        return None
    folder = Path(folder)
    folder.mkdir(parents=True)
    os.chmod(folder, OPEN_FOLDER)   # the sandbox's bwrap runs as the sandbox uid: it must get in
    root = data_utils.find_cifar10_dir(data_dir)
    manifest = {"source": data_utils.source_stamp(root), "calls": {}}
    for number, (name, arguments) in enumerate(calls):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            if name == "load_CIFAR10":
                values = dict(zip(("X_train", "y_train", "X_test", "y_test"), data_utils.load_CIFAR10(root)))
            else:
                values = data_utils.get_CIFAR10_data(**{**arguments, "cifar10_dir": root})
        files = {}
        for key, value in values.items():
            if key == "class_names":
                continue   # a constant of data_utils: not data
            files[key] = f"{number}_{key}.npy"
            np_save(folder / files[key], value)
        del values
        key = data_utils.prepared_key(name, **{k: v for k, v in arguments.items() if k != "cifar10_dir"})
        manifest["calls"][key] = {"arrays": files, "note": printed.getvalue().rstrip("\n") or None}
    # Written last: a kernel that sees the manifest sees every file it names.
    (folder / data_utils.PREPARED_MANIFEST).write_text(json.dumps(manifest))
    for path in folder.iterdir():
        os.chmod(path, READ_ONLY_FILE)
    os.chmod(folder, READ_ONLY_FOLDER)
    return SharedData(folder=str(folder), calls=tuple(manifest["calls"]))


def np_save(path, value):
    import numpy as np
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(value), allow_pickle=False)


def remove(folder):
    """Delete a prepared folder (made writable again first)."""
    folder = Path(folder)
    if not folder.exists():
        return
    os.chmod(folder, stat.S_IRWXU)
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def shared(*, data_dir, notebook_texts, enabled=True):
    """The SharedData of one batch (None when disabled, when the notebooks load nothing, or
    when preparing failed: grading then goes on, each kernel loading the data itself)."""
    if not enabled or not data_dir:
        yield None
        return
    parent = tempfile.mkdtemp(prefix="kit-shared-data-")
    try:
        yield prepare_or_warn(data_dir, notebook_texts, Path(parent) / "cifar10")
    finally:
        remove(Path(parent) / "cifar10")
        shutil.rmtree(parent, ignore_errors=True)


def prepare_or_warn(data_dir, notebook_texts, folder):
    try:
        return prepare(data_dir=data_dir, notebook_texts=notebook_texts, folder=folder)
    except (OSError, ValueError, MemoryError) as err:
        warnings.warn(f"CIFAR-10 is not shared between kernels ({type(err).__name__}: {err}); "
                      "each kernel loads it itself (slower, same grades)", stacklevel=2)
        remove(folder)
        return None


_PROCESS_COPIES = {}


def for_this_process(*, data_dir, notebook_texts):
    """One prepared folder per data folder for the life of this process, for graders that
    are called once per notebook (nbgrader's autograde): prepared at the first call."""
    key = (data_dir, tuple(notebook_texts))
    if key not in _PROCESS_COPIES:
        parent = tempfile.mkdtemp(prefix="kit-shared-data-")
        folder = Path(parent) / "cifar10"
        _PROCESS_COPIES[key] = prepare_or_warn(data_dir, notebook_texts, folder)
        atexit.register(lambda: (remove(folder), shutil.rmtree(parent, ignore_errors=True)))
    return _PROCESS_COPIES[key]
