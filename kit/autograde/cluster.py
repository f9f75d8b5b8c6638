"""Which Dask scheduler `kit autograde --scheduler` may grade on, and the client certificate
it proves itself with: checked before anything is graded or written.

A Dask scheduler runs whatever any connected client sends on its workers, as the workers'
user and outside the sandbox (only the kernels are sandboxed). On a plain `tcp://`
scheduler anyone who can reach it can therefore write files as that user and replace the
grading function, i.e. forge every grade. So only `tls://` schedulers are accepted, with
mutual TLS: the scheduler, the workers and this client each hold a certificate signed by
the course's own CA (`python -m kit certificates`), and nobody without one can connect.
"""
import contextlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import certificates, tls
from ..course import KitError

SETUP = ("write the course's certificates with `python -m kit certificates --course COURSE`, "
         "start the scheduler and workers with them (README: \"Grading a large class: processes "
         "and Dask\") and pass --scheduler tls://HOST:PORT")
OPEN_SCHEDULER = ("a plain tcp:// scheduler has no authentication: anyone who can reach it runs "
                  "code on its workers, as the workers' user and outside the sandbox, and can "
                  "forge every grade")
# tls://HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 address
ADDRESS = re.compile(r"tls://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})")


# How long a batch waits while the cluster has no worker at all before the submissions
# still waiting become grader errors: long enough for workers to restart, short enough
# that a cluster whose workers are gone is not mistaken for a slow one.
NO_WORKER_TIMEOUT = 120.0


@dataclass(frozen=True)
class Access:
    """A checked scheduler address, the client's certificate files (all paths) and how long
    a batch may wait with no worker on the cluster (seconds)."""
    address: str
    ca_file: Path
    cert_file: Path
    key_file: Path
    no_worker_timeout: float = NO_WORKER_TIMEOUT

    def security(self):
        """The distributed.Security that connects with these files, TLS only."""
        from distributed.security import Security
        return Security(tls_ca_file=str(self.ca_file), tls_client_cert=str(self.cert_file),
                        tls_client_key=str(self.key_file), require_encryption=True)


def check_scheduler(address, *, course, folder=None, no_worker_timeout=None):
    """The Access for grading on `address`, or KitError saying what is wrong and how to fix it.

    Inputs: address, `tls://HOST:PORT`; course, the course folder; folder, where the client's
    ca.pem, cert.pem and key.pem are (default: COURSE/.dask-tls/client); no_worker_timeout,
    seconds a batch waits with no worker on the cluster (default NO_WORKER_TIMEOUT).
    Returns an Access. Reads the files only; contacts nothing."""
    text = str(address).strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else None
    if scheme in (None, "tcp", "ws"):
        raise KitError(f"expected a tls:// scheduler address, got {address!r} instead: "
                       f"{OPEN_SCHEDULER}. To grade on a cluster, {SETUP}.")
    match = ADDRESS.fullmatch(text)
    if not match or not 1 <= int(match["port"]) <= 65535:
        raise KitError(f"expected a scheduler address tls://HOST:PORT, e.g. tls://10.0.0.5:8786, "
                       f"got {address!r} instead; {SETUP}")
    folder = Path(folder) if folder else certificates.tls_folder(course) / certificates.CLIENT
    files = [folder / name for name in (certificates.CA_CERT, certificates.CERT, certificates.KEY)]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise KitError(f"expected the client's certificate files {', '.join(missing)}, found nothing "
                       f"there; {SETUP} (or name the folder holding ca.pem, cert.pem and key.pem "
                       "with --certificates DIR)")
    ca_file, cert_file, key_file = files
    if os.stat(key_file).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KitError(f"expected the private key {key_file} to be readable by its owner only, "
                       f"got mode {stat.S_IMODE(os.stat(key_file).st_mode):04o} instead: whoever reads "
                       f"it can grade on (and forge grades through) the cluster; run chmod 600 {key_file}")
    problem = tls.problem_with(ca_file=ca_file, cert_file=cert_file, key_file=key_file)
    if problem:
        raise KitError(f"expected a client certificate signed by the course's CA, but {problem}; {SETUP}")
    wait = NO_WORKER_TIMEOUT if no_worker_timeout is None else float(no_worker_timeout)
    if not wait > 0:
        raise KitError(f"expected --no-worker-timeout to be a positive number of seconds, got "
                       f"{no_worker_timeout!r} instead")
    return Access(address=text, ca_file=ca_file, cert_file=cert_file, key_file=key_file,
                  no_worker_timeout=wait)


def connect(access, *, timeout=None):
    """A distributed.Client connected to access.address with mutual TLS, or KitError.

    Inputs: access, from check_scheduler; timeout, seconds (default: Dask's connect
    timeout). Returns the Client (the caller closes it)."""
    from distributed import Client
    try:
        # Client's own default (distributed.comm.timeouts.connect) unless told: None is refused
        return Client(access.address, security=access.security(),
                      **({} if timeout is None else {"timeout": timeout}))
    except (OSError, TimeoutError) as err:  # ssl.SSLError is an OSError
        raise KitError(f"could not connect to the Dask scheduler at {access.address} "
                       f"({type(err).__name__}: {err}); check that it runs and is reachable, and that "
                       f"it and this client use certificates from the same `python -m kit "
                       f"certificates` (the same ca.pem)") from None


@contextlib.contextmanager
def local_cluster(*, workers=2, **options):
    """A Dask cluster of `workers` one-thread processes on 127.0.0.1, secured as the README's
    (mutual TLS), with the certificates of a throwaway CA in a temporary folder: for grading
    on this machine through Dask (the tests, the benchmark).

    Inputs: workers; options, more distributed.LocalCluster arguments.
    Yields {"scheduler": its tls:// address, "certificates": the client's folder}: what
    `run(..., scheduler=..., certificates=...)` takes."""
    from distributed import LocalCluster
    from distributed.security import Security
    with tempfile.TemporaryDirectory(prefix="kit-dask-tls-") as tmp:
        certificates.run(course=tmp, verbose=False)
        folder = certificates.tls_folder(tmp)

        def files(role):
            return str(folder / role / certificates.CERT), str(folder / role / certificates.KEY)
        (scheduler_cert, scheduler_key), (worker_cert, worker_key), (client_cert, client_key) = \
            map(files, certificates.ROLES)
        security = Security(tls_ca_file=str(folder / certificates.CA / certificates.CA_CERT),
                            tls_scheduler_cert=scheduler_cert, tls_scheduler_key=scheduler_key,
                            tls_worker_cert=worker_cert, tls_worker_key=worker_key,
                            tls_client_cert=client_cert, tls_client_key=client_key,
                            require_encryption=True)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          protocol="tls", security=security, dashboard_address=None, **options) as local:
            yield {"scheduler": local.scheduler_address, "certificates": folder / certificates.CLIENT}
