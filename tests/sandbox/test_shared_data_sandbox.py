"""The batch's prepared CIFAR-10 arrays (kit/shared_data.py) as a student kernel sees them
through the grading runner's sandbox: readable and mapped by the loaders, never writable,
whatever the student's code tries."""
import hashlib
import json
from pathlib import Path

import pytest

from kit import sandbox, shared_data
from kit.course import KIT_ROOT
from kit.notebook_rules import NOTEBOOKS
from sandbox_helpers import run_cells, stdout
from utils.data_utils import PREPARED_ENV

AVAILABLE, REASON = sandbox.isolation_status()

ATTACKS = """
import json, os, numpy as np
folder = os.environ[%r]
names = sorted(os.listdir(folder))
target = os.path.join(folder, [n for n in names if n.endswith('X_train.npy')][0])
results = {}
def attempt(name, fn):
    try:
        fn()
        results[name] = 'WROTE'
    except Exception as err:
        results[name] = type(err).__name__
attempt('open r+b', lambda: open(target, 'r+b').write(b'x'))
attempt('append', lambda: open(target, 'ab').write(b'x'))
attempt('truncate', lambda: os.truncate(target, 0))
attempt('new file', lambda: open(os.path.join(folder, 'planted.npy'), 'wb').write(b'x'))
attempt('remove', lambda: os.remove(target))
attempt('rename', lambda: os.rename(target, target + '.old'))
attempt('chmod', lambda: os.chmod(target, 0o666))
attempt('manifest', lambda: open(os.path.join(folder, 'manifest.json'), 'w').write('{}'))
def through_memmap():
    m = np.load(target, mmap_mode='r+')
    m[0, 0] = 12345.0
    m.flush()
attempt('memmap r+', through_memmap)
print(json.dumps(results))
"""

LOADER = """
import os, sys, numpy as np
sys.path.insert(0, %r)
from utils.data_utils import get_CIFAR10_data
data = get_CIFAR10_data()
X = data['X_train']
X -= 1.0                       # in place, as students do: a private copy of the touched pages
print('mapped', not X.flags.owndata, X.shape)
"""


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, cifar10_dir):
    if not AVAILABLE:
        print("shared-data sandbox test skipped: " + REASON)
        pytest.skip("bubblewrap is not usable here: " + REASON)
    folder = tmp_path_factory.mktemp("shared") / "cifar10"
    texts = [(KIT_ROOT / "notebooks" / nb).read_text() for nb in NOTEBOOKS]
    result = shared_data.prepare(data_dir=cifar10_dir, notebook_texts=texts, folder=folder)
    yield result
    shared_data.remove(folder)


def hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir())}


def test_a_student_kernel_cannot_change_the_shared_data(prepared, cifar10_dir, tmp_path):
    before = hashes(prepared.folder)
    work = tmp_path / "work"
    work.mkdir()
    km = sandbox.kernel_manager(workdir=work, readonly=[cifar10_dir, prepared.folder, str(KIT_ROOT / "utils")],
                                require_isolation=True)
    env = {PREPARED_ENV: prepared.folder, "CIFAR10_DIR": cifar10_dir}
    cells, error = run_cells(km, [ATTACKS % PREPARED_ENV, LOADER % str(KIT_ROOT)], timeout=60, env=env)
    assert error is None
    results = json.loads(stdout(cells[0]).strip().splitlines()[-1])
    assert results and all(outcome != "WROTE" for outcome in results.values()), results
    assert "mapped True" in stdout(cells[1]), stdout(cells[1])
    assert hashes(prepared.folder) == before
    assert not (Path(prepared.folder) / "planted.npy").exists()
