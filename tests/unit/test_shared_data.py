"""The CIFAR-10 arrays a grader prepares once per batch (kit/shared_data.py) and the loaders
that map them (utils/data_utils.py): the same values as loading the batches, a student's
in-place change kept private, and a clean fall-back whenever the prepared copy does not fit."""
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from kit import shared_data
from kit.course import KIT_ROOT
from kit.notebook_rules import NOTEBOOKS
from utils import data_utils

NOTEBOOK_TEXTS = [(KIT_ROOT / "notebooks" / nb).read_text() for nb in NOTEBOOKS]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, cifar10_dir):
    folder = tmp_path_factory.mktemp("shared") / "cifar10"
    result = shared_data.prepare(data_dir=cifar10_dir, notebook_texts=NOTEBOOK_TEXTS, folder=folder)
    yield result
    shared_data.remove(folder)


def hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir())}


def test_the_notebooks_loader_calls_are_found():
    calls = shared_data.loader_calls(NOTEBOOK_TEXTS)
    names = sorted(name for name, _ in calls)
    assert names == ["get_CIFAR10_data", "load_CIFAR10"]   # the two notebooks share one call
    arguments = dict(calls)["get_CIFAR10_data"]
    assert (arguments["num_training"], arguments["num_validation"], arguments["num_dev"]) == (49000, 1000, 500)


def test_computed_arguments_are_left_to_the_kernel():
    text = json.dumps({"cells": [{"cell_type": "code", "id": "c1", "metadata": {}, "outputs": [],
                                  "execution_count": None,
                                  "source": "n = 10\ndata = get_CIFAR10_data(num_training=n)\n%matplotlib inline"}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    assert shared_data.loader_calls([text]) == []


def test_prepared_arrays_equal_loaded_ones_and_stay_private(prepared, cifar10_dir, monkeypatch, capsys):
    monkeypatch.delenv(data_utils.PREPARED_ENV, raising=False)
    loaded = data_utils.get_CIFAR10_data(cifar10_dir=cifar10_dir)
    raw = data_utils.load_CIFAR10(cifar10_dir)
    note = capsys.readouterr().out
    monkeypatch.setenv(data_utils.PREPARED_ENV, prepared.folder)
    before = hashes(prepared.folder)
    mapped = data_utils.get_CIFAR10_data(cifar10_dir=cifar10_dir)
    mapped_raw = data_utils.load_CIFAR10(cifar10_dir)
    assert capsys.readouterr().out == note      # the same note on a partial copy, or none
    assert sorted(mapped) == sorted(loaded)
    for key, value in loaded.items():
        if key == "class_names":
            assert mapped[key] == value
            continue
        assert type(mapped[key]) is np.ndarray, key      # a plain array, not np.memmap
        assert mapped[key].dtype == value.dtype and np.array_equal(mapped[key], value), key
    for a, b in zip(raw, mapped_raw):
        assert np.array_equal(a, b) and a.dtype == b.dtype
    # Not a copy read into memory: the arrays are backed by the prepared files.
    assert not mapped["X_train"].flags.owndata
    # A student's in-place change (the notebook's own style: X -= mean) works and stays in this process.
    mapped["X_train"] -= 1.0
    mapped_raw[0][:5] = 0
    assert hashes(prepared.folder) == before
    again = data_utils.get_CIFAR10_data(cifar10_dir=cifar10_dir)
    assert np.array_equal(again["X_train"], loaded["X_train"])


def test_files_are_read_only_on_disk(prepared):
    folder = Path(prepared.folder)
    assert not os.stat(folder).st_mode & 0o222
    assert all(not os.stat(p).st_mode & 0o222 for p in folder.iterdir())


def test_other_calls_and_other_data_load_the_batches(prepared, cifar10_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(data_utils.PREPARED_ENV, prepared.folder)
    # Arguments nobody prepared: loaded as usual.
    small = data_utils.get_CIFAR10_data(num_training=300, num_validation=50, num_test=40,
                                        num_dev=20, cifar10_dir=cifar10_dir)
    assert small["X_train"].shape == (300, 3073) and small["X_train"].flags.owndata
    # Another copy of the data set (its files newer): the prepared arrays do not describe it.
    other = tmp_path / "cifar-10-batches-py"
    other.mkdir()
    for name in data_utils.TRAIN_FILES + [data_utils.TEST_FILE]:
        (other / name).write_bytes((Path(cifar10_dir) / name).read_bytes())
    data = data_utils.get_CIFAR10_data(cifar10_dir=other)
    assert data["X_train"].flags.owndata


@pytest.mark.parametrize("damage", ["missing", "garbage", "wrong_shape"])
def test_a_damaged_prepared_folder_falls_back(prepared, cifar10_dir, tmp_path, monkeypatch, damage):
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in Path(prepared.folder).iterdir():
        (copy / p.name).write_bytes(p.read_bytes())
    manifest = copy / data_utils.PREPARED_MANIFEST
    if damage == "missing":
        manifest.unlink()
    elif damage == "garbage":
        manifest.write_text("{not json")
    else:
        entry = json.loads(manifest.read_text())
        for call in entry["calls"].values():
            call["arrays"]["X_train"] = "nowhere.npy"
        manifest.write_text(json.dumps(entry))
    monkeypatch.setenv(data_utils.PREPARED_ENV, str(copy))
    data = data_utils.get_CIFAR10_data(cifar10_dir=cifar10_dir)
    assert data["X_train"].flags.owndata and data["X_train"].shape[1] == 3073


def test_shared_context_removes_its_folder_and_can_be_turned_off(cifar10_dir):
    with shared_data.shared(data_dir=cifar10_dir, notebook_texts=NOTEBOOK_TEXTS) as prepared:
        assert (Path(prepared.folder) / data_utils.PREPARED_MANIFEST).is_file()
        assert prepared.env == {data_utils.PREPARED_ENV: prepared.folder}
    assert not Path(prepared.folder).exists()
    with shared_data.shared(data_dir=cifar10_dir, notebook_texts=NOTEBOOK_TEXTS, enabled=False) as none:
        assert none is None
