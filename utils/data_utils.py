"""Loading CIFAR-10 (python version) and splitting it for the assignment.

The data set is the folder cifar-10-batches-py/ of the official archive:
data_batch_1 ... data_batch_5 (training) and test_batch, each a Python-2
pickle of a dict with 'data' (uint8, one 3072-value row per image: 1024 red,
1024 green, 1024 blue values of a row-major 32x32 image) and 'labels'.
"""

import json
import os
import pickle

import numpy as np

from .messages import _

CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer',
               'dog', 'frog', 'horse', 'ship', 'truck']

TRAIN_FILES = ['data_batch_%d' % b for b in range(1, 6)]
TEST_FILE = 'test_batch'
DOWNLOAD_COMMAND = 'python -m utils.download_cifar10'

_IMAGE_SHAPE = (32, 32, 3)
_NUM_PIXELS = 32 * 32 * 3
# Fixed seed so that the dev sample is the same on every run.
_DEV_SEED = 0
# Optional, and never needed on your machine: a folder of the arrays below, already
# converted from this data set, named in this environment variable. Each loader then
# maps them (copy on write) instead of reading and converting the batches again. The
# values are the same either way.
PREPARED_ENV = 'CIFAR10_ARRAYS_DIR'
PREPARED_MANIFEST = 'manifest.json'


def kit_root():
    """The folder that holds utils/ (the repository or a flat release folder)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_cifar10_dir():
    """Where the downloader puts the data: <kit root>/data/cifar-10-batches-py."""
    return os.path.join(kit_root(), 'data', 'cifar-10-batches-py')


def _missing_files(folder):
    return [name for name in TRAIN_FILES + [TEST_FILE]
            if not os.path.isfile(os.path.join(folder, name))]


def find_cifar10_dir(cifar10_dir=None, given_as=None):
    """
    Find the cifar-10-batches-py folder.

    Looked up in this order: the argument, the environment variable
    CIFAR10_DIR, <kit root>/data/cifar-10-batches-py. A folder that instead
    contains cifar-10-batches-py/ (such as data/) is accepted too.

    Inputs:
    - cifar10_dir: optional path to the folder.
    - given_as: how the caller's user gave cifar10_dir (e.g. '--data'), for the
      message; default: the cifar10_dir argument.

    Returns:
    - the absolute path of the folder holding data_batch_1..5 and test_batch.

    Raises FileNotFoundError naming the folder searched and how to get the data.
    """
    if cifar10_dir is not None:
        folder, source = os.fspath(cifar10_dir), given_as or _('the cifar10_dir argument')
    elif os.environ.get('CIFAR10_DIR'):
        folder, source = os.environ['CIFAR10_DIR'], _('the CIFAR10_DIR environment variable')
    else:
        folder, source = default_cifar10_dir(), _('the default location')
    folder = os.path.abspath(os.path.expanduser(folder))

    for candidate in (folder, os.path.join(folder, 'cifar-10-batches-py')):
        if os.path.isdir(candidate) and not _missing_files(candidate):
            return candidate

    if os.path.isdir(folder):
        got = _('a folder without %s') % ', '.join(_missing_files(folder))
    else:
        got = _('no such folder')
    raise FileNotFoundError(
        _("CIFAR-10 not found: expected data_batch_1..5 and test_batch in %s "
          "(from %s), got %s instead. Download it with `%s` run from %s, or set "
          "the CIFAR10_DIR environment variable to your cifar-10-batches-py folder.")
        % (folder, source, got, DOWNLOAD_COMMAND, kit_root()))


def source_stamp(root):
    """What identifies a CIFAR-10 folder's contents: its real path and, per batch file,
    the size and modification time."""
    stamp = [os.path.realpath(root)]
    for name in TRAIN_FILES + [TEST_FILE]:
        st = os.stat(os.path.join(root, name))
        stamp.append([name, st.st_size, st.st_mtime_ns])
    return stamp


def prepared_key(function, **arguments):
    """The manifest key of one loader call, e.g. prepared_key('load_CIFAR10')."""
    return function + json.dumps(arguments, sort_keys=True)


def _prepared(root, key):
    """The arrays already converted for this call on this folder (PREPARED_ENV), mapped
    copy on write, and the note the call prints; None when there are none."""
    folder = os.environ.get(PREPARED_ENV)
    if not folder:
        return None
    try:
        with open(os.path.join(folder, PREPARED_MANIFEST)) as f:
            manifest = json.load(f)
        entry = manifest['calls'][key] if manifest['source'] == source_stamp(root) else None
        if entry is None:
            return None
        arrays = {name: np.asarray(np.load(os.path.join(folder, file), mmap_mode='c',
                                           allow_pickle=False))
                  for name, file in entry['arrays'].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no usable copy: load the batches as usual
    return arrays, entry.get('note')


def _load_batch_raw(filename):
    """
    Load and validate one CIFAR-10 batch without converting it to float.

    Inputs:
    - filename: path of a batch file.

    Returns a tuple of:
    - X: uint8 array of shape (n, 3072), rows as stored in the file.
    - y: int64 array of shape (n,), labels in [0, 10).

    Raises ValueError naming the file if it is truncated, not a CIFAR-10
    batch, or has inconsistent shapes or labels.
    """
    filename = os.fspath(filename)
    try:
        with open(filename, 'rb') as f:
            datadict = pickle.load(f, encoding='latin1')
            trailing = f.read(1)
    except FileNotFoundError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError,
            AttributeError, ImportError, IndexError, KeyError,
            UnicodeDecodeError, MemoryError) as e:
        raise ValueError(
            "CIFAR-10 batch %s is truncated or corrupt (%s: %s); delete the "
            "cifar-10-batches-py folder and run `%s` again"
            % (filename, type(e).__name__, e, DOWNLOAD_COMMAND)) from None

    def bad(what):
        return ValueError(
            "CIFAR-10 batch %s is not valid: %s; delete the cifar-10-batches-py "
            "folder and run `%s` again" % (filename, what, DOWNLOAD_COMMAND))

    if trailing:
        raise bad("unexpected bytes after the pickled data")
    if not isinstance(datadict, dict):
        raise bad("expected a dict, got %s instead" % type(datadict).__name__)
    # Pickles written by Python 3 without latin1 may have bytes keys.
    datadict = {(k.decode('latin1') if isinstance(k, bytes) else k): v
                for k, v in datadict.items()}
    if 'data' not in datadict or 'labels' not in datadict:
        raise bad("expected keys 'data' and 'labels', got %s instead"
                  % sorted(map(str, datadict)))

    X = datadict['data']
    if not isinstance(X, np.ndarray) or X.dtype != np.uint8:
        raise bad("expected 'data' to be a uint8 array, got %s instead"
                  % getattr(X, 'dtype', type(X).__name__))
    if X.ndim != 2 or X.shape[1] != _NUM_PIXELS:
        raise bad("expected 'data' of shape (n, %d), got %s instead"
                  % (_NUM_PIXELS, X.shape))

    try:
        y = np.asarray(datadict['labels'])
    except (ValueError, TypeError):
        raise bad("expected 'labels' to be a list of ints") from None
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise bad("expected 'labels' to be a list of ints, got %s of shape %s instead"
                  % (y.dtype, y.shape))
    if y.shape[0] != X.shape[0]:
        raise bad("expected one label per image (%d), got %d labels instead"
                  % (X.shape[0], y.shape[0]))
    if y.size and (y.min() < 0 or y.max() >= len(CLASS_NAMES)):
        raise bad("expected labels in [0, %d), got values from %d to %d instead"
                  % (len(CLASS_NAMES), y.min(), y.max()))
    return X, y.astype(np.int64)


def _to_images(X_rows):
    """(n, 3072) channel-major rows -> (n, 32, 32, 3) view (no copy)."""
    return X_rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def load_CIFAR_batch(filename):
    """
    Load one batch of CIFAR-10.

    Inputs:
    - filename: path of a batch file such as .../data_batch_1.

    Returns a tuple of:
    - X: float64 array of shape (n, 32, 32, 3), pixel values 0..255.
    - y: int64 array of shape (n,), labels in [0, 10).

    Raises ValueError naming the file if it is truncated or corrupt.
    """
    X, y = _load_batch_raw(filename)
    return np.ascontiguousarray(_to_images(X), dtype=np.float64), y


def _load_raw(root):
    """All of CIFAR-10 as uint8 rows (n, 3072) and int64 labels."""
    xs, ys = [], []
    for name in TRAIN_FILES:
        X, y = _load_batch_raw(os.path.join(root, name))
        xs.append(X)
        ys.append(y)
    X_train = np.concatenate(xs)
    y_train = np.concatenate(ys)
    del xs, ys
    X_test, y_test = _load_batch_raw(os.path.join(root, TEST_FILE))
    return X_train, y_train, X_test, y_test


def load_CIFAR10(root):
    """
    Load all of CIFAR-10: data_batch_1..5 for training and test_batch.

    Inputs:
    - root: the cifar-10-batches-py folder.

    Returns a tuple of:
    - X_train: float64 array (N_train, 32, 32, 3); 50,000 images for the full set.
    - y_train: int64 array (N_train,).
    - X_test: float64 array (N_test, 32, 32, 3); 10,000 images for the full set.
    - y_test: int64 array (N_test,).
    """
    prepared = _prepared(root, prepared_key('load_CIFAR10'))
    if prepared:
        arrays = prepared[0]
        return arrays['X_train'], arrays['y_train'], arrays['X_test'], arrays['y_test']
    X_train, y_train, X_test, y_test = _load_raw(root)
    # Concatenate as uint8 and convert once: one float64 copy, not two.
    X_train = np.ascontiguousarray(_to_images(X_train), dtype=np.float64)
    X_test = np.ascontiguousarray(_to_images(X_test), dtype=np.float64)
    return X_train, y_train, X_test, y_test


def _check_count(value, name, minimum=0):
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError("expected %s to be an int >= %d, got %r instead"
                         % (name, minimum, value))
    return int(value)


def _preprocess(images, mean_image, add_bias):
    """
    uint8 images (n, 32, 32, 3) -> float64 rows (n, 3072 [+1]), with the mean
    image subtracted and a bias column of ones appended. The pixels are
    written straight into the final array in one pass, so that no
    intermediate copy (float64 or uint8) is made.
    """
    n = images.shape[0]
    out = np.empty((n, _NUM_PIXELS + (1 if add_bias else 0)), dtype=np.float64)
    # A (n, 32, 32, 3) view of the pixel columns: splitting the last axis of
    # a row-strided array never needs a copy.
    pixels = out[:, :_NUM_PIXELS].reshape((n,) + _IMAGE_SHAPE)
    if mean_image is not None:
        np.subtract(images, mean_image, out=pixels)
    else:
        pixels[...] = images
    if add_bias:
        out[:, _NUM_PIXELS] = 1.0
    return out


def get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000,
                     num_dev=500, subtract_mean=True, add_bias=True,
                     cifar10_dir=None):
    """
    Load CIFAR-10 and prepare it for the linear classifiers.

    Splits, as in the course: train = the first num_training training images,
    val = the num_validation images right after them, test = the first
    num_test test images, dev = num_dev training images drawn at random (with
    a fixed seed) for quick experiments. Every image is flattened to a row of
    3072 values, the TRAINING mean image is subtracted, and a column of ones
    is appended (the bias trick), giving 3073 columns.

    If the data holds fewer images than asked (a partial copy of CIFAR-10),
    validation, test and dev sizes are kept where possible, training gets what
    remains, and one line says so.

    Inputs:
    - num_training, num_validation, num_test, num_dev: split sizes.
    - subtract_mean: subtract the mean training image.
    - add_bias: append a column of ones.
    - cifar10_dir: the cifar-10-batches-py folder; default: the CIFAR10_DIR
      environment variable, else <kit root>/data/cifar-10-batches-py.

    Returns a dict with:
    - 'X_train', 'X_val', 'X_test', 'X_dev': float64 arrays (n, 3073)
      ((n, 3072) if add_bias is False).
    - 'y_train', 'y_val', 'y_test', 'y_dev': int64 arrays (n,).
    - 'mean_image': float64 array (32, 32, 3), zeros if subtract_mean is False.
    - 'class_names': list of the 10 class names.
    """
    num_training = _check_count(num_training, 'num_training', minimum=1)
    num_validation = _check_count(num_validation, 'num_validation')
    num_test = _check_count(num_test, 'num_test')
    num_dev = _check_count(num_dev, 'num_dev')

    root = find_cifar10_dir(cifar10_dir)
    key = prepared_key('get_CIFAR10_data', num_training=num_training,
                       num_validation=num_validation, num_test=num_test, num_dev=num_dev,
                       subtract_mean=bool(subtract_mean), add_bias=bool(add_bias))
    prepared = _prepared(root, key)
    if prepared:
        data, note = prepared
        if note:
            print(note)
        return dict(data, class_names=list(CLASS_NAMES))
    X_all, y_all, X_test_all, y_test_all = _load_raw(root)
    X_all, X_test_all = _to_images(X_all), _to_images(X_test_all)
    n_avail, n_test_avail = X_all.shape[0], X_test_all.shape[0]

    # Shrink to the data we have: validation first, training gets the rest.
    if num_validation >= n_avail:
        raise ValueError(
            _("expected more training images than num_validation=%d, got %d "
              "training images in %s instead; ask for a smaller num_validation "
              "or use the full data set (`%s`)")
            % (num_validation, n_avail, root, DOWNLOAD_COMMAND))
    notes = []
    if num_training + num_validation > n_avail:
        asked = num_training
        num_training = min(num_training, n_avail - num_validation)
        notes.append('training on {:,} (asked for {:,}), validating on {:,}'
                     .format(num_training, asked, num_validation))
    counts = '{:,} training images'.format(n_avail)
    if num_test > n_test_avail:
        counts = '{:,} training and {:,} test images'.format(n_avail, n_test_avail)
        notes.append('testing on {:,} (asked for {:,})'.format(n_test_avail, num_test))
        num_test = n_test_avail
    if num_dev > num_training:
        notes.append('dev set of {:,} (asked for {:,})'.format(num_training, num_dev))
        num_dev = num_training
    if notes:
        print('CIFAR-10 in {} has {}: {}'.format(root, counts, ', '.join(notes)))

    val_idx = slice(num_training, num_training + num_validation)
    dev_idx = np.random.default_rng(_DEV_SEED).choice(num_training, num_dev,
                                                      replace=False)
    train_images = X_all[:num_training]

    if subtract_mean:
        mean_image = train_images.mean(axis=0, dtype=np.float64)
        mean_used = mean_image
    else:
        mean_image = np.zeros(_IMAGE_SHAPE, dtype=np.float64)
        mean_used = None

    data = {
        'X_train': _preprocess(train_images, mean_used, add_bias),
        'y_train': y_all[:num_training].copy(),
        'X_val': _preprocess(X_all[val_idx], mean_used, add_bias),
        'y_val': y_all[val_idx].copy(),
        'X_test': _preprocess(X_test_all[:num_test], mean_used, add_bias),
        'y_test': y_test_all[:num_test].copy(),
        'X_dev': _preprocess(X_all[dev_idx], mean_used, add_bias),
        'y_dev': y_all[dev_idx],
        'mean_image': mean_image,
        'class_names': list(CLASS_NAMES),
    }
    return data
