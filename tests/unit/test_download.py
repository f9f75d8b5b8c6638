"""Tests for utils/download_cifar10.py, offline: small CIFAR-format archives
built here, served from a local http.server on 127.0.0.1 only."""

import functools
import hashlib
import http.server
import io
import os
import pathlib
import pickle
import subprocess
import sys
import tarfile
import threading

import numpy as np
import pytest

from utils import download_cifar10 as dl
from utils.data_utils import get_CIFAR10_data, load_CIFAR10

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOLDER = 'cifar-10-batches-py'


def make_fake_cifar(folder, train_sizes, test_size, seed=0):
    """Tiny CIFAR-format batches: Python-2-style pickles with str keys."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder)
    names = ['data_batch_%d' % i for i in range(1, 6)] + ['test_batch']
    for name, n in zip(names, list(train_sizes) + [test_size]):
        batch = {'batch_label': name, 'labels': list(rng.integers(0, 10, size=n)),
                 'data': rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)}
        with open(os.path.join(folder, name), 'wb') as f:
            pickle.dump(batch, f, protocol=2)


def md5_of(path):
    return hashlib.md5(pathlib.Path(path).read_bytes()).hexdigest()


def checks_of(path):
    """Keyword arguments that make download_cifar10 accept this archive."""
    return {'size': os.path.getsize(path), 'md5': md5_of(path)}


def build_archive(path, extra_members=(), drop=()):
    """A cifar-10-python.tar.gz look-alike with tiny batches, plus extra
    members given as (TarInfo, bytes or None)."""
    src = os.path.join(os.path.dirname(path), 'src-' + os.path.basename(path))
    make_fake_cifar(os.path.join(src, FOLDER), train_sizes=(8, 8, 8, 8, 8), test_size=6)
    with open(os.path.join(src, FOLDER, 'readme.html'), 'w') as f:
        f.write('<html></html>')
    with tarfile.open(path, 'w:gz') as tar:
        tar.add(os.path.join(src, FOLDER), arcname=FOLDER, recursive=False)
        for name in sorted(os.listdir(os.path.join(src, FOLDER))):
            if name not in drop:
                tar.add(os.path.join(src, FOLDER, name), arcname=FOLDER + '/' + name)
        for info, data in extra_members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file_member(name, data=b'gotcha'):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def link_member(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.fixture
def good_archive(tmp_path):
    return build_archive(str(tmp_path / 'cifar-10-python.tar.gz'))


@pytest.fixture
def dest(tmp_path):
    return str(tmp_path / 'dest')


@pytest.fixture
def no_proxy(monkeypatch):
    """Keep urllib from sending 127.0.0.1 traffic to a configured proxy."""
    for var in ('http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY',
                'ALL_PROXY'):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')


@pytest.fixture
def server(tmp_path, no_proxy):
    """Serve tmp_path over HTTP on 127.0.0.1; yields the base URL."""
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d/' % httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def assert_nothing_installed(dest):
    """No cifar-10-batches-py and no temporary leftovers in dest."""
    assert not os.path.exists(os.path.join(dest, FOLDER))
    leftovers = os.listdir(dest) if os.path.isdir(dest) else []
    assert leftovers == []


def test_download_from_local_server(server, good_archive, dest, capsys):
    target = dl.download_cifar10(dest, url=server + 'cifar-10-python.tar.gz',
                                 **checks_of(good_archive))
    assert target == os.path.join(dest, FOLDER)
    assert os.listdir(dest) == [FOLDER]  # temporary files are gone
    X_train, y_train, X_test, y_test = load_CIFAR10(target)
    assert X_train.shape == (40, 32, 32, 3) and X_test.shape == (6, 32, 32, 3)
    data = get_CIFAR10_data(num_training=30, num_validation=5, num_test=6, num_dev=4,
                            cifar10_dir=dest)  # the parent folder is accepted
    assert data['X_train'].shape == (30, 3073)
    assert 'installed' in capsys.readouterr().out

    # Running again does nothing (and does not touch the network: bad URL).
    again = dl.download_cifar10(dest, url='http://127.0.0.1:9/none', size=1, md5='0' * 32)
    assert again == target
    assert 'already' in capsys.readouterr().out


def test_install_from_archive(good_archive, dest):
    target = dl.download_cifar10(dest, archive=good_archive, **checks_of(good_archive))
    assert sorted(os.listdir(target)) == sorted(
        ['data_batch_%d' % i for i in range(1, 6)] + ['test_batch', 'readme.html'])
    assert os.path.exists(good_archive)  # the user's file is left alone
    assert load_CIFAR10(target)[0].shape == (40, 32, 32, 3)


def test_cli_archive_and_rerun(good_archive, dest, monkeypatch, capsys):
    # The CLI always checks against the official size/MD5: point those at ours.
    checks = checks_of(good_archive)
    monkeypatch.setattr(dl, 'CIFAR10_SIZE', checks['size'])
    monkeypatch.setattr(dl, 'CIFAR10_MD5', checks['md5'])
    assert dl.main(['--dest', dest, '--archive', good_archive]) == 0
    assert os.listdir(dest) == [FOLDER]
    assert dl.main(['--dest', dest, '--archive', good_archive]) == 0
    assert 'nothing to do' in capsys.readouterr().out


def test_cli_rejects_archive_that_is_not_the_official_one(good_archive, dest):
    # A real subprocess: the official size check fails, exit code 1, nothing left.
    result = subprocess.run(
        [sys.executable, '-m', 'utils.download_cifar10', '--dest', dest,
         '--archive', good_archive],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert 'expected the archive to be 170498071 bytes' in result.stderr
    assert_nothing_installed(dest)


def test_wrong_checksum(server, good_archive, dest):
    checks = checks_of(good_archive)
    with pytest.raises(dl.CIFAR10InstallError, match='MD5'):
        dl.download_cifar10(dest, url=server + 'cifar-10-python.tar.gz',
                            size=checks['size'], md5='0' * 32)
    assert_nothing_installed(dest)
    with pytest.raises(dl.CIFAR10InstallError, match='MD5'):
        dl.download_cifar10(dest, archive=good_archive, size=checks['size'], md5='0' * 32)
    assert_nothing_installed(dest)


def test_truncated_archive(server, good_archive, dest, tmp_path):
    checks = checks_of(good_archive)
    truncated = str(tmp_path / 'truncated.tar.gz')
    raw = pathlib.Path(good_archive).read_bytes()
    with open(truncated, 'wb') as f:
        f.write(raw[:len(raw) * 2 // 3])
    # Against the full archive's size: caught before extracting.
    with pytest.raises(dl.CIFAR10InstallError, match='bytes'):
        dl.download_cifar10(dest, url=server + 'truncated.tar.gz', **checks)
    assert_nothing_installed(dest)
    # Even if its own checksum is given, extraction fails cleanly.
    with pytest.raises(dl.CIFAR10InstallError, match='damaged'):
        dl.download_cifar10(dest, archive=truncated, **checks_of(truncated))
    assert_nothing_installed(dest)


@pytest.mark.parametrize('member, match', [
    (file_member('../evil'), r"'\.\.'"),
    (file_member(FOLDER + '/../../evil'), r"'\.\.'"),
    (file_member('/tmp/cifar10-test-evil-absolute'), 'absolute'),
    (link_member(FOLDER + '/data_batch_6', '/etc/passwd'), 'link'),
    (link_member(FOLDER + '/hard', '/etc/passwd', tarfile.LNKTYPE), 'link'),
    (link_member(FOLDER + '/dev', '', tarfile.CHRTYPE), 'special'),
])
def test_unsafe_members_are_refused(tmp_path, dest, member, match):
    archive = build_archive(str(tmp_path / 'evil.tar.gz'), extra_members=[member])
    with pytest.raises(dl.CIFAR10InstallError, match=match):
        dl.download_cifar10(dest, archive=archive, **checks_of(archive))
    assert_nothing_installed(dest)
    assert not os.path.exists(tmp_path / 'evil')
    assert not os.path.exists('/tmp/cifar10-test-evil-absolute')


def test_archive_without_all_batches(tmp_path, dest):
    archive = build_archive(str(tmp_path / 'partial.tar.gz'), drop=('data_batch_4',))
    with pytest.raises(dl.CIFAR10InstallError, match='data_batch_4'):
        dl.download_cifar10(dest, archive=archive, **checks_of(archive))
    assert_nothing_installed(dest)


def test_archive_with_corrupt_batch(tmp_path, dest):
    bad = file_member(FOLDER + '/data_batch_2', b'\x80\x02}q\x01(U\x04data')
    # Same name added twice: tar keeps the last one, the corrupt pickle.
    archive = build_archive(str(tmp_path / 'corrupt.tar.gz'), extra_members=[bad])
    with pytest.raises(dl.CIFAR10InstallError, match='data_batch_2'):
        dl.download_cifar10(dest, archive=archive, **checks_of(archive))
    assert_nothing_installed(dest)


def test_interrupted_install_leaves_nothing(good_archive, dest, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dl, '_validate_extracted', interrupt)
    with pytest.raises(KeyboardInterrupt):
        dl.download_cifar10(dest, archive=good_archive, **checks_of(good_archive))
    assert_nothing_installed(dest)


def test_server_error_suggests_archive(server, dest):
    with pytest.raises(dl.CIFAR10InstallError, match='--archive'):
        dl.download_cifar10(dest, url=server + 'missing.tar.gz', size=10, md5='0' * 32)
    assert_nothing_installed(dest)


def test_oversized_download_is_cut_short(server, good_archive, dest):
    checks = checks_of(good_archive)
    with pytest.raises(dl.CIFAR10InstallError, match='bytes'):
        dl.download_cifar10(dest, url=server + 'cifar-10-python.tar.gz',
                            size=checks['size'] // 2, md5=checks['md5'])
    assert_nothing_installed(dest)


def test_incomplete_existing_folder_is_not_overwritten(good_archive, dest):
    os.makedirs(os.path.join(dest, FOLDER))
    with pytest.raises(dl.CIFAR10InstallError, match='incomplete'):
        dl.download_cifar10(dest, archive=good_archive, **checks_of(good_archive))


def test_missing_archive_file(tmp_path, dest):
    with pytest.raises(dl.CIFAR10InstallError, match='no such file'):
        dl.download_cifar10(dest, archive=str(tmp_path / 'nope.tar.gz'))


def test_default_dest_is_kit_data_folder():
    assert dl.default_dest() == os.path.join(REPO_ROOT, 'data')
