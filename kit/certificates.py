"""`python -m kit certificates`: the course's own certificate authority and the certificates
its Dask cluster authenticates with (mutual TLS), written with one call, `run(*, ...)`.

A Dask scheduler or worker runs whatever a connected client sends, as its own user and
outside the sandbox (only the kernels are sandboxed), so whoever can connect can forge
grades. With these files the scheduler, the workers and `kit autograde` accept only peers
holding a certificate signed by the course's CA: nobody else can connect.

Layout, one folder per machine that needs it (COURSE/.dask-tls/):
    ca/         ca.pem, ca-key.pem   the CA; its key never leaves the instructor's machine
    scheduler/  ca.pem, cert.pem, key.pem   copied to the scheduler's machine
    worker/     ca.pem, cert.pem, key.pem   copied to every grading machine
    client/     ca.pem, cert.pem, key.pem   `kit autograde --scheduler tls://...` (stays here)
Private keys are mode 0600 and their folders 0700; certificates are 0644.
"""
import datetime
import ipaddress
import os
import re
from pathlib import Path

from . import tls
from .course import KitError

# Inside the course folder, hidden: a Jupyter server started there (formgrader's) does not
# serve hidden files unless ContentsManager.allow_hidden is set.
FOLDER = ".dask-tls"
CA, SCHEDULER, WORKER, CLIENT = "ca", "scheduler", "worker", "client"
ROLES = (SCHEDULER, WORKER, CLIENT)     # each gets ca.pem, cert.pem and key.pem in its folder
CA_CERT, CA_KEY = "ca.pem", "ca-key.pem"
CERT, KEY = "cert.pem", "key.pem"
DEFAULT_HOSTS = ("127.0.0.1", "localhost")
DEFAULT_DAYS = 365                      # a term or two; then write new ones (--force)
MAX_DAYS = 3650
PRIVATE, PUBLIC, PRIVATE_DIR = 0o600, 0o644, 0o700
# A DNS name: dot-separated labels of letters, digits and inner hyphens (RFC 1123).
DNS_NAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def tls_folder(course):
    """COURSE/.dask-tls: where `run` writes and where `kit autograde` looks by default."""
    return Path(course) / FOLDER


def run(*, course, hosts=(), days=DEFAULT_DAYS, force=False, verbose=True):
    """Write a new CA and the scheduler's, workers' and client's certificates for `course`.

    Inputs: course, an existing course folder; hosts, extra names or IP addresses of the
    scheduler and grading machines (their certificates always name 127.0.0.1 and
    localhost); days, how long the certificates are valid; force, whether to replace
    files written before (every machine then needs the new ones); verbose, whether to print
    what to copy where.
    Returns the paths written, {folder name: [paths]}. Raises KitError, before writing
    anything, on a bad argument or (without force) any file already there.
    """
    course = Path(course)
    if not course.is_dir():
        raise KitError(f"expected the course folder {course}, found nothing there; pass the "
                       "course's folder with --course DIR (run `python -m kit release` first "
                       "for a new course)")
    names = check_hosts(hosts)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise KitError(f"expected --days between 1 and {MAX_DAYS}, got {days!r} instead")
    files = planned_files(tls_folder(course))
    existing = [path for path in files if os.path.lexists(path)]
    if existing and not force:
        shown = [str(p.relative_to(tls_folder(course))) for p in existing]
        raise KitError(f"expected no certificates in {tls_folder(course)}, found {len(shown)} "
                       f"file(s) there instead ({', '.join(shown[:3])}{', ...' if shown[3:] else ''}); "
                       "keep them, or pass "
                       "--force to write new ones (then copy the new folders to every machine "
                       "and restart the scheduler and workers: the old ones stop working)")
    contents = make_all(course_name=course.resolve().name, names=names, days=days)
    for path, (data, mode) in zip(files, contents):
        write_file(path, data, mode=mode, replace=force)
    if verbose:
        print(guide(tls_folder(course), names))
    return {folder: [p for p in files if p.parent.name == folder] for folder in (CA, *ROLES)}


def guide(folder, names):
    """What to copy where and how to start the cluster with it (printed after writing)."""
    hosts = ", ".join(str(n) for n in names)
    return f"""Wrote the course's Dask certificates in {folder} (the scheduler's and workers' name {hosts}):
  ca/         the CA: ca-key.pem signs certificates; keep it on this machine only, never copy it
  scheduler/  copy to the scheduler's machine:
                dask scheduler --host HOST --port 8786 --no-dashboard \\
                  --tls-ca-file scheduler/ca.pem --tls-cert scheduler/cert.pem --tls-key scheduler/key.pem
  worker/     copy to every grading machine:
                dask worker tls://HOST:8786 --nworkers 2 --nthreads 1 --host WORKER_HOST --no-dashboard \\
                  --tls-ca-file worker/ca.pem --tls-cert worker/cert.pem --tls-key worker/key.pem
  client/     stays here: python -m kit autograde --scheduler tls://HOST:8786 uses it
Keep the key.pem files private (mode 0600): whoever holds one can grade on the cluster."""


def check_hosts(hosts):
    """DEFAULT_HOSTS plus `hosts`, each an IP address or a DNS name, without repeats.

    Returns a list of ipaddress objects and strings (DNS names). Raises KitError on a
    name that is neither."""
    if isinstance(hosts, str):
        hosts = [hosts]
    names = []
    for host in (*DEFAULT_HOSTS, *hosts):
        text = str(host).strip()
        try:
            name = ipaddress.ip_address(text.strip("[]"))
        except ValueError:
            if not DNS_NAME.match(text) or text.replace(".", "").isdigit():
                raise KitError(f"expected --host to be a host name or an IP address, got {host!r} "
                               "instead (e.g. --host grader1.example.edu --host 10.0.0.5)") from None
            name = text.rstrip(".").lower()
        if name not in names:
            names.append(name)
    return names


def planned_files(folder):
    """Every path `run` writes, in the order make_all returns their contents."""
    return [folder / CA / CA_CERT, folder / CA / CA_KEY,
            *(folder / role / name for role in ROLES for name in (CA_CERT, CERT, KEY))]


def make_all(*, course_name, names, days):
    """The contents of planned_files(...): [(bytes, mode)], generated in memory."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, ca_cert = tls.make_ca(f"{course_name} Dask CA (linear-classifiers-kit)",
                                         now=now, days=days)
    out = [(tls.cert_pem(ca_cert), PUBLIC), (tls.key_pem(ca_key), PRIVATE)]
    for role in ROLES:
        key, cert = tls.make_leaf(
            f"{course_name} Dask {role}", ca_key=ca_key, ca_cert=ca_cert, now=now, days=days,
            names=[] if role == CLIENT else names, server=role != CLIENT)
        out += [(tls.cert_pem(ca_cert), PUBLIC), (tls.cert_pem(cert), PUBLIC),
                (tls.key_pem(key), PRIVATE)]
    return out


def write_file(path, data, *, mode, replace):
    """Write `data` to `path` with `mode` from the start (a key is never readable by others,
    not even for a moment), never through a symbolic link; an existing file is replaced only
    if `replace`, atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(path.parent, PRIVATE_DIR)  # a folder made earlier with the umask's mode
    os.chmod(path.parent.parent, PRIVATE_DIR)
    target = path.with_name(path.name + ".new") if replace else path
    if replace and os.path.lexists(target):
        os.unlink(target)  # left by an interrupted earlier run
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(target, mode)  # the umask may have taken bits from a 0644 certificate
    if replace:
        os.replace(target, path)
