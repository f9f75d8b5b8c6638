"""Download and install CIFAR-10 (python version).

Usage, from the kit folder (the one holding utils/):

    python -m utils.download_cifar10                 # into ./data/cifar-10-batches-py
    python -m utils.download_cifar10 --dest DIR      # into DIR/cifar-10-batches-py
    python -m utils.download_cifar10 --archive FILE  # install a cifar-10-python.tar.gz
                                                     # you downloaded yourself

The archive is checked (size and MD5) before anything is extracted, it is
extracted into a hidden temporary folder next to the destination, and that
folder is renamed into place only once every batch loads. So an interrupted
or failed run never leaves a cifar-10-batches-py folder behind; running it
again when the data is already there does nothing.
"""

import argparse
import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request

from .data_utils import TEST_FILE, TRAIN_FILES, _load_batch_raw, kit_root
from .messages import _

CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
CIFAR10_SIZE = 170498071
CIFAR10_MD5 = 'c58f30108f718f92721af3b95e74349a'
FOLDER_NAME = 'cifar-10-batches-py'

_CHUNK = 1 << 20
# The real archive unpacks to about 178 MB; anything far bigger is not it.
_MAX_EXTRACTED_BYTES = 1 << 30


class CIFAR10InstallError(RuntimeError):
    """The archive could not be downloaded, verified or installed."""


def default_dest():
    """<kit root>/data, the folder the loader looks in by default."""
    return os.path.join(kit_root(), 'data')


def _is_installed(folder):
    return os.path.isdir(folder) and all(
        os.path.isfile(os.path.join(folder, name)) for name in TRAIN_FILES + [TEST_FILE])


def _progress_bar(total, desc):
    # Imported here so that --archive and the "already there" path work
    # without tqdm.
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit='B', unit_scale=True, unit_divisor=1024)


def _download(url, path, size):
    """
    Stream url into the file path with a progress bar.

    Returns the MD5 hex digest of what was written. Raises
    CIFAR10InstallError if the server fails or sends more than size bytes.
    """
    md5 = hashlib.md5()
    written = 0
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(path, 'wb') as out:
            length = response.headers.get('Content-Length')
            total = int(length) if length and length.isdigit() else size
            with _progress_bar(total, 'cifar-10-python.tar.gz') as bar:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    written += len(chunk)
                    if written > size:
                        # Stop early rather than fill the disk with the wrong file.
                        raise CIFAR10InstallError(
                            _("expected %d bytes from %s, got more than that instead; "
                              "the server did not send the CIFAR-10 archive") % (size, url))
                    out.write(chunk)
                    md5.update(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        raise CIFAR10InstallError(
            _("could not download %s (%s). If this machine has no internet access, "
              "download the file elsewhere and install it with "
              "`python -m utils.download_cifar10 --archive FILE`") % (url, e)) from None
    return md5.hexdigest()


def _file_md5(path):
    md5 = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            md5.update(chunk)
    return md5.hexdigest()


def _verify(path, size, md5, digest=None):
    """Raise CIFAR10InstallError unless the file has the expected size and MD5."""
    actual_size = os.path.getsize(path)
    if actual_size != size:
        raise CIFAR10InstallError(
            _("expected the archive to be %d bytes, got %d bytes instead (%s); "
              "the download was incomplete or this is not cifar-10-python.tar.gz, "
              "download it again") % (size, actual_size, path))
    digest = digest or _file_md5(path)
    if digest != md5:
        raise CIFAR10InstallError(
            _("expected the archive's MD5 to be %s, got %s instead (%s); the file is "
              "corrupt or not cifar-10-python.tar.gz, download it again") % (md5, digest, path))


def _check_member(member):
    """Raise CIFAR10InstallError unless member is a plain file or folder
    whose path stays inside the extraction folder."""
    name = member.name
    if name.startswith(('/', '\\')) or os.path.isabs(name) or (len(name) > 1 and name[1] == ':'):
        raise CIFAR10InstallError(
            _("refusing to extract %r: absolute paths are not allowed in the archive") % name)
    parts = name.replace('\\', '/').split('/')
    if '..' in parts:
        raise CIFAR10InstallError(
            _("refusing to extract %r: '..' in a path could write outside the "
              "destination") % name)
    if not (member.isreg() or member.isdir()):
        raise CIFAR10InstallError(
            _("refusing to extract %r: expected only regular files and folders, got "
              "a link or special file instead") % name)


def _extract(archive, into):
    """Safely extract the archive into the (empty) folder into."""
    total = 0
    try:
        with tarfile.open(archive, 'r:gz') as tar:
            for member in tar:
                _check_member(member)
                total += member.size
                if total > _MAX_EXTRACTED_BYTES:
                    raise CIFAR10InstallError(
                        _("refusing to extract %s: it unpacks to more than %d bytes, "
                          "which is not CIFAR-10") % (archive, _MAX_EXTRACTED_BYTES))
                if hasattr(tarfile, 'data_filter'):
                    tar.extract(member, into, filter='data')
                else:  # Python without extraction filters: our checks above.
                    tar.extract(member, into, set_attrs=False)
    except (tarfile.TarError, EOFError, OSError, ValueError) as e:
        raise CIFAR10InstallError(
            _("could not extract %s (%s: %s); the archive is damaged, download it again")
            % (archive, type(e).__name__, e)) from None


def _validate_extracted(folder, archive):
    """Every batch must exist and load before the folder is put in place."""
    if not os.path.isdir(folder):
        raise CIFAR10InstallError(
            _("expected the archive %s to contain a %s/ folder, got none instead; "
              "this is not cifar-10-python.tar.gz") % (archive, FOLDER_NAME))
    for name in TRAIN_FILES + [TEST_FILE]:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise CIFAR10InstallError(
                _("expected %s/%s in the archive %s, got no such file instead")
                % (FOLDER_NAME, name, archive))
        try:
            _load_batch_raw(path)
        except ValueError as e:
            raise CIFAR10InstallError(str(e)) from None


def download_cifar10(dest=None, archive=None, *, url=None, size=None, md5=None):
    """
    Install CIFAR-10 into <dest>/cifar-10-batches-py, downloading it unless
    a local archive is given. Does nothing if it is already installed.

    Inputs:
    - dest: folder to install into; default <kit root>/data.
    - archive: optional path of a cifar-10-python.tar.gz already on disk.
    - url, size, md5: keyword-only, where to download from and what to expect
      (for tests); None means the official archive (CIFAR10_URL, CIFAR10_SIZE,
      CIFAR10_MD5).

    Returns:
    - the path of the installed cifar-10-batches-py folder.

    Raises CIFAR10InstallError (nothing is left behind) if the archive cannot
    be downloaded, fails its checks or does not unpack to CIFAR-10.
    """
    url = CIFAR10_URL if url is None else url
    size = CIFAR10_SIZE if size is None else size
    md5 = CIFAR10_MD5 if md5 is None else md5.lower()
    dest = os.path.abspath(os.path.expanduser(os.fspath(dest if dest is not None else default_dest())))
    target = os.path.join(dest, FOLDER_NAME)
    if _is_installed(target):
        print(_('CIFAR-10 is already in %s; nothing to do.') % target)
        return target
    if os.path.lexists(target):
        raise CIFAR10InstallError(
            _("expected %s to be absent or complete, got an incomplete folder instead; "
              "delete it and run this again") % target)
    if archive is not None:
        archive = os.path.abspath(os.path.expanduser(os.fspath(archive)))
        if not os.path.isfile(archive):
            raise CIFAR10InstallError(_("expected an archive file at %s, got no such file "
                                        "instead") % archive)

    os.makedirs(dest, exist_ok=True)
    # Temporary files sit next to the destination (same file system, so the
    # final rename is atomic) and have names the loader never accepts.
    tmp_archive = None
    tmp_dir = tempfile.mkdtemp(prefix='.cifar-10-extract-', dir=dest)
    try:
        if archive is None:
            fd, tmp_archive = tempfile.mkstemp(prefix='.cifar-10-python-',
                                               suffix='.tar.gz.part', dir=dest)
            os.close(fd)
            print(_('Downloading %s to %s') % (url, dest))
            digest = _download(url, tmp_archive, size)
            _verify(tmp_archive, size, md5, digest)
            source = tmp_archive
        else:
            print(_('Checking %s') % archive)
            _verify(archive, size, md5)
            source = archive

        print(_('Extracting %s') % os.path.basename(source))
        _extract(source, tmp_dir)
        extracted = os.path.join(tmp_dir, FOLDER_NAME)
        _validate_extracted(extracted, source)
        try:
            os.rename(extracted, target)
        except OSError:
            if _is_installed(target):  # another run finished first
                print(_('CIFAR-10 is already in %s; nothing to do.') % target)
                return target
            raise
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if tmp_archive is not None and os.path.exists(tmp_archive):
            os.remove(tmp_archive)

    print(_('CIFAR-10 installed in %s') % target)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m utils.download_cifar10',
        description='Download CIFAR-10 (python version, about 163 MiB) and install it '
                    'as DEST/cifar-10-batches-py.')
    from . import __version__
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    parser.add_argument('--dest', default=None,
                        help='folder to install into (default: %s)' % default_dest())
    parser.add_argument('--archive', default=None, metavar='FILE',
                        help='install from a cifar-10-python.tar.gz already on disk '
                             'instead of downloading it')
    args = parser.parse_args(argv)
    try:
        download_cifar10(args.dest, args.archive)
    except CIFAR10InstallError as e:
        print(_('error: %s') % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_('interrupted; nothing was installed'), file=sys.stderr)
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
