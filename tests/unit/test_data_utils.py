"""Tests for utils/data_utils.py on small CIFAR-format pickles and on the real subset."""

import os
import pathlib
import pickle

import numpy as np
import pytest

from utils import data_utils
from utils.data_utils import (CLASS_NAMES, find_cifar10_dir, get_CIFAR10_data,
                              load_CIFAR10, load_CIFAR_batch)


def write_batch(path, data, labels, **extra):
    """A batch as the original Python-2 pickles: str keys, uint8 rows, list labels."""
    batch = {'batch_label': 'test batch', 'data': data, 'labels': list(labels)}
    batch.update(extra)
    with open(path, 'wb') as f:
        pickle.dump(batch, f, protocol=2)


def make_fake_cifar(folder, train_sizes=(30, 30, 30, 30, 30), test_size=25, seed=0):
    """Write data_batch_1..5 and test_batch with random pixels; return them."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    batches = {}
    names = ['data_batch_%d' % i for i in range(1, 6)] + ['test_batch']
    for name, n in zip(names, list(train_sizes) + [test_size]):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n)
        write_batch(os.path.join(folder, name), data, labels)
        batches[name] = (data, labels)
    return batches


@pytest.fixture
def fake_dir(tmp_path):
    folder = tmp_path / 'cifar-10-batches-py'
    batches = make_fake_cifar(str(folder))
    return str(folder), batches


def test_load_batch_layout(tmp_path):
    # Channel-major rows: the first 1024 values are red, row-major 32x32.
    data = np.zeros((2, 3072), dtype=np.uint8)
    data[0, 0] = 10          # red, pixel (0, 0)
    data[0, 1024 + 33] = 20  # green, pixel (1, 1)
    data[1, 2048 + 31] = 30  # blue, pixel (0, 31)
    path = tmp_path / 'data_batch_1'
    write_batch(path, data, [3, 9])
    X, y = load_CIFAR_batch(str(path))
    assert X.shape == (2, 32, 32, 3) and X.dtype == np.float64
    assert X.flags['C_CONTIGUOUS']
    assert y.dtype == np.int64 and list(y) == [3, 9]
    assert X[0, 0, 0, 0] == 10 and X[0, 1, 1, 1] == 20 and X[1, 0, 31, 2] == 30
    assert X.sum() == 60


def test_load_CIFAR10_concatenates_batches(fake_dir):
    folder, batches = fake_dir
    X_train, y_train, X_test, y_test = load_CIFAR10(folder)
    assert X_train.shape == (150, 32, 32, 3) and X_test.shape == (25, 32, 32, 3)
    assert X_train.dtype == np.float64 and y_train.dtype == np.int64
    expected = np.concatenate([batches['data_batch_%d' % i][1] for i in range(1, 6)])
    assert np.array_equal(y_train, expected)
    assert np.array_equal(X_train[30], load_CIFAR_batch(os.path.join(folder, 'data_batch_2'))[0][0])
    assert np.array_equal(y_test, batches['test_batch'][1])


@pytest.mark.parametrize('damage', ['truncate', 'garbage', 'empty', 'trailing'])
def test_corrupt_batch_raises_value_error_naming_file(fake_dir, damage):
    folder, _ = fake_dir
    path = os.path.join(folder, 'data_batch_3')
    raw = pathlib.Path(path).read_bytes()
    with open(path, 'wb') as f:
        f.write({'truncate': raw[:len(raw) // 2], 'garbage': b'not a pickle at all',
                 'empty': b'', 'trailing': raw + b'xyz'}[damage])
    with pytest.raises(ValueError, match='data_batch_3'):
        load_CIFAR_batch(path)
    with pytest.raises(ValueError, match='data_batch_3'):
        load_CIFAR10(folder)


@pytest.mark.parametrize('data, labels, match', [
    (np.zeros((4, 3000), dtype=np.uint8), [0, 1, 2, 3], 'shape'),
    (np.zeros((4, 3072), dtype=np.float32), [0, 1, 2, 3], 'uint8'),
    (np.zeros((4, 3072), dtype=np.uint8), [0, 1, 2], 'one label per image'),
    (np.zeros((4, 3072), dtype=np.uint8), [0, 1, 2, 10], 'labels in'),
    (np.zeros((4, 3072), dtype=np.uint8), [0, -1, 2, 3], 'labels in'),
])
def test_wrong_shapes_or_labels_raise(tmp_path, data, labels, match):
    path = tmp_path / 'data_batch_1'
    write_batch(path, data, labels)
    with pytest.raises(ValueError, match=match) as info:
        load_CIFAR_batch(str(path))
    assert 'data_batch_1' in str(info.value)


def test_missing_keys_raise(tmp_path):
    path = tmp_path / 'test_batch'
    with open(path, 'wb') as f:
        pickle.dump({'data': np.zeros((1, 3072), dtype=np.uint8)}, f, protocol=2)
    with pytest.raises(ValueError, match="'labels'"):
        load_CIFAR_batch(str(path))


def test_get_data_splits_and_preprocessing(fake_dir):
    folder, batches = fake_dir
    data = get_CIFAR10_data(num_training=100, num_validation=20, num_test=10,
                            num_dev=15, cifar10_dir=folder)
    sizes = {'train': 100, 'val': 20, 'test': 10, 'dev': 15}
    for split, n in sizes.items():
        assert data['X_' + split].shape == (n, 3073)
        assert data['X_' + split].dtype == np.float64
        assert data['y_' + split].shape == (n,) and data['y_' + split].dtype == np.int64
        assert np.all(data['X_' + split][:, -1] == 1)
    assert data['class_names'] == CLASS_NAMES
    assert data['mean_image'].shape == (32, 32, 3)

    X_train, y_train, X_test, y_test = load_CIFAR10(folder)
    flat = X_train.reshape(150, -1)
    mean = flat[:100].mean(axis=0)
    assert np.allclose(data['mean_image'].reshape(-1), mean)
    # Validation is the block right after the training images, test the first ones.
    assert np.allclose(data['X_train'][:, :-1], flat[:100] - mean)
    assert np.allclose(data['X_val'][:, :-1], flat[100:120] - mean)
    assert np.array_equal(data['y_val'], y_train[100:120])
    assert np.allclose(data['X_test'][:, :-1], X_test.reshape(25, -1)[:10] - mean)
    assert np.array_equal(data['y_test'], y_test[:10])
    assert np.allclose(data['X_train'][:, :-1].mean(axis=0), 0)
    # Dev images are distinct training images, the same ones on every call.
    dev_rows = data['X_dev'][:, :-1] + mean
    matches = [np.flatnonzero((np.abs(flat[:100] - r) < 1e-9).all(axis=1)) for r in dev_rows]
    assert all(m.size >= 1 for m in matches)
    assert len({int(m[0]) for m in matches}) == 15
    again = get_CIFAR10_data(num_training=100, num_validation=20, num_test=10,
                             num_dev=15, cifar10_dir=folder)
    assert np.array_equal(again['y_dev'], data['y_dev'])
    assert np.array_equal(again['X_dev'], data['X_dev'])


def test_get_data_without_mean_or_bias(fake_dir):
    folder, _ = fake_dir
    data = get_CIFAR10_data(num_training=50, num_validation=10, num_test=5, num_dev=5,
                            subtract_mean=False, add_bias=False, cifar10_dir=folder)
    assert data['X_train'].shape == (50, 3072)
    assert np.all(data['mean_image'] == 0)
    X_train = load_CIFAR10(folder)[0]
    assert np.array_equal(data['X_train'], X_train[:50].reshape(50, -1))


def test_get_data_shrinks_with_one_line(fake_dir, capsys):
    folder, _ = fake_dir
    data = get_CIFAR10_data(cifar10_dir=folder, num_validation=20, num_test=10, num_dev=5)
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ['CIFAR-10 in %s has 150 training images: training on 130 '
                   '(asked for 49,000), validating on 20' % folder]
    assert data['X_train'].shape == (130, 3073) and data['X_val'].shape == (20, 3073)


def test_get_data_shrinks_test_and_dev_too(fake_dir, capsys):
    folder, _ = fake_dir
    data = get_CIFAR10_data(num_training=1000, num_validation=140, num_test=100,
                            num_dev=500, cifar10_dir=folder)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert 'training on 10 (asked for 1,000)' in out[0]
    assert out[0].startswith('CIFAR-10 in %s has 150 training and 25 test images: ' % folder)
    assert 'testing on 25 (asked for 100)' in out[0]
    assert 'dev set of 10 (asked for 500)' in out[0]
    assert data['X_train'].shape[0] == 10 and data['X_val'].shape[0] == 140
    assert data['X_test'].shape[0] == 25 and data['X_dev'].shape[0] == 10


def test_get_data_no_message_when_data_suffices(fake_dir, capsys):
    folder, _ = fake_dir
    get_CIFAR10_data(num_training=100, num_validation=50, num_test=25, num_dev=10,
                     cifar10_dir=folder)
    assert capsys.readouterr().out == ''


def test_get_data_validation_cannot_fit(fake_dir):
    folder, _ = fake_dir
    with pytest.raises(ValueError, match='num_validation=150'):
        get_CIFAR10_data(num_validation=150, cifar10_dir=folder)


@pytest.mark.parametrize('kwargs', [{'num_training': 0}, {'num_validation': -1},
                                    {'num_dev': 2.5}])
def test_get_data_bad_sizes(fake_dir, kwargs):
    with pytest.raises(ValueError, match='expected'):
        get_CIFAR10_data(cifar10_dir=fake_dir[0], **kwargs)


def test_missing_data_names_folder_and_command(tmp_path, monkeypatch):
    missing = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError) as info:
        get_CIFAR10_data(cifar10_dir=str(missing))
    assert str(missing) in str(info.value)
    assert 'python -m utils.download_cifar10' in str(info.value)

    monkeypatch.setenv('CIFAR10_DIR', str(missing))
    with pytest.raises(FileNotFoundError, match='CIFAR10_DIR'):
        find_cifar10_dir()


def test_incomplete_folder_lists_missing_files(fake_dir):
    folder, _ = fake_dir
    os.remove(os.path.join(folder, 'test_batch'))
    with pytest.raises(FileNotFoundError, match='got a folder without test_batch instead'):
        find_cifar10_dir(folder)
    # A program passing the folder on says how its user gave it (the kit: --data).
    with pytest.raises(FileNotFoundError, match=r'\(from --data\), got a folder without test_batch'):
        find_cifar10_dir(folder, given_as='--data')
    with pytest.raises(FileNotFoundError, match=r'\(from the cifar10_dir argument\)'):
        find_cifar10_dir(folder)


def test_find_dir_order(fake_dir, tmp_path, monkeypatch):
    folder, _ = fake_dir
    monkeypatch.setenv('CIFAR10_DIR', folder)
    assert find_cifar10_dir() == folder
    # The parent of cifar-10-batches-py (like data/) is accepted too.
    assert find_cifar10_dir(os.path.dirname(folder)) == folder
    monkeypatch.delenv('CIFAR10_DIR')
    monkeypatch.setattr(data_utils, 'default_cifar10_dir', lambda: str(tmp_path / 'none'))
    with pytest.raises(FileNotFoundError, match='default location'):
        find_cifar10_dir()


def test_real_subset_loads(cifar10_dir):
    X_train, y_train, X_test, y_test = load_CIFAR10(cifar10_dir)
    assert X_train.shape == (5170, 32, 32, 3) and X_test.shape == (1017, 32, 32, 3)
    assert X_train.dtype == np.float64 and y_train.dtype == np.int64
    assert X_train.min() >= 0 and X_train.max() <= 255
    assert set(np.unique(y_train)) == set(range(10))


def test_real_subset_default_splits(cifar10_dir, capsys):
    data = get_CIFAR10_data(cifar10_dir=cifar10_dir)
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ['CIFAR-10 in %s has 5,170 training images: training on 4,170 '
                   '(asked for 49,000), validating on 1,000' % cifar10_dir]
    expected = {'train': 4170, 'val': 1000, 'test': 1000, 'dev': 500}
    for split, n in expected.items():
        assert data['X_' + split].shape == (n, 3073)
        assert data['X_' + split].dtype == np.float64
        assert data['y_' + split].shape == (n,)
        assert np.all(data['X_' + split][:, -1] == 1)
    assert np.abs(data['X_train'][:, :-1].mean()) < 1e-8
    assert np.abs(data['X_train'][:, :-1].mean(axis=0)).max() < 1e-8
    assert data['mean_image'].shape == (32, 32, 3)
    assert 100 < data['mean_image'].mean() < 150
    assert data['class_names'] == CLASS_NAMES
