"""The pure helpers of the benchmark's items 8-9 (bench/fullsize.py): tiling CIFAR-10 to a
larger size in the original format, reading a process's memory, breaking a submission.

Nothing here measures time or grades: `python -m bench --smoke --items 8,9` does that.
"""
import os
import pickle

import numpy as np
import pytest

from bench import fullsize
from utils.data_utils import TEST_FILE, TRAIN_FILES, _load_batch_raw, get_CIFAR10_data


def source_images(folder):
    parts = [_load_batch_raw(os.path.join(folder, name)) for name in TRAIN_FILES]
    return np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])


def test_tiled_cifar10_is_in_the_original_format_and_repeats_the_source(cifar10_dir, tmp_path, capsys):
    target = fullsize.tile_cifar10(cifar10_dir, tmp_path / "tiled", num_train=100, num_test=20)
    X_source, y_source = source_images(cifar10_dir)
    for b, name in enumerate(TRAIN_FILES):
        with open(target / name, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        assert set(batch) == {"data", "labels", "batch_label", "filenames"}
        assert batch["data"].dtype == np.uint8 and batch["data"].shape == (20, 3072)
        assert isinstance(batch["labels"], list) and all(type(v) is int for v in batch["labels"])
        assert len(batch["filenames"]) == 20 and batch["batch_label"]
        rows = np.arange(b * 20, (b + 1) * 20) % len(X_source)
        assert np.array_equal(batch["data"], X_source[rows])
        assert batch["labels"] == y_source[rows].tolist()
    X_test, _ = _load_batch_raw(target / TEST_FILE)
    assert X_test.shape == (20, 3072)
    capsys.readouterr()
    data = get_CIFAR10_data(num_training=70, num_validation=30, num_test=20, num_dev=10,
                            cifar10_dir=str(target))
    assert data["X_train"].shape == (70, 3073) and data["X_test"].shape == (20, 3073)
    assert capsys.readouterr().out == ""  # no "has N images" note: the sizes asked for are there


def test_tiling_wraps_around_a_small_source(cifar10_dir, tmp_path):
    X_source, y_source = source_images(cifar10_dir)
    n = len(X_source)
    num_train = 5 * (n // 5 + 3)          # 11 to 15 images more than the source has
    target = fullsize.tile_cifar10(cifar10_dir, tmp_path / "tiled", num_train=num_train, num_test=5)
    X, y = [], []
    for name in TRAIN_FILES:
        Xb, yb = _load_batch_raw(target / name)
        X.append(Xb)
        y.append(yb)
    X, y = np.concatenate(X), np.concatenate(y)
    assert X.shape == (num_train, 3072)
    assert np.array_equal(X[:n], X_source) and np.array_equal(X[n:], X_source[:num_train - n])
    assert np.array_equal(y[:n], y_source)


@pytest.mark.parametrize("num_train, num_test", [(0, 10), (12, 10), (10, 0)])
def test_tiling_refuses_sizes_it_cannot_write(tmp_path, num_train, num_test):
    with pytest.raises(ValueError, match="expected num_train"):
        fullsize.tile_cifar10(tmp_path, tmp_path / "tiled", num_train=num_train, num_test=num_test)


def test_memory_of_this_process_and_of_none():
    pss, rss = fullsize.read_memory_kib(os.getpid())
    assert 0 < pss and 0 < rss
    assert fullsize.read_memory_kib(2 ** 22 + 12345) is None   # above the kernel's pid limit


def test_memory_sampler_sees_this_process_only_when_asked():
    import psutil
    with fullsize.MemorySampler(include_self=True) as with_self:
        pass
    assert with_self.samples >= 1 and with_self.peaks["grading_pss"] > 0
    with fullsize.MemorySampler(include_self=False) as without:
        pass
    # This process's own memory is counted only when asked (other tests may have left
    # child processes, kernels or not, under this one: they count in both).
    own = fullsize.read_memory_kib(psutil.Process().pid)[0] / 1024
    assert with_self.peaks["grading_pss"] - without.peaks["grading_pss"] >= 0.5 * own


@pytest.mark.parametrize("kind", sorted(fullsize.BROKEN_KINDS))
def test_broken_submissions_change_one_file_and_still_compile(tmp_path, kind):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    (tmp_path / "classifiers").mkdir()
    for name in ("linear_svm.py", "softmax.py", "linear_classifier.py"):
        with open(os.path.join(repo, "classifiers", name)) as f:
            (tmp_path / "classifiers" / name).write_text(f.read())
    before = {p.name: p.read_text() for p in (tmp_path / "classifiers").iterdir()}
    fullsize.break_submission(tmp_path, kind)
    after = {p.name: p.read_text() for p in (tmp_path / "classifiers").iterdir()}
    changed = [name for name in before if before[name] != after[name]]
    assert changed == [fullsize.BROKEN_KINDS[kind][0]]
    compile(after[changed[0]], changed[0], "exec")
    assert "while True" in after[changed[0]]
