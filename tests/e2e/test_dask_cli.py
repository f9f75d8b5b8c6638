"""The README's Dask commands as an instructor types them, and the `kit` console script.

`python -m kit certificates` writes the course's CA and certificates; a real `dask
scheduler` and `dask worker --nworkers 2 --nthreads 1` start with them (mutual TLS), as
separate processes outside the repository with no PYTHONPATH, so they can import the kit
only because `python -m pip install -r requirements.txt` installed it (editable, see
pyproject.toml); then `python -m kit autograde --scheduler tls://...`, also started outside
the repository, grades a released course through them. Whoever lacks a certificate signed
by the course's CA (plain tcp, TLS without a certificate, TLS with another CA's) can
neither connect to the scheduler, the workers nor their nannies, nor run anything there.
Everything listens on 127.0.0.1 only (no dashboard), and every process started here is
stopped, whatever happens.
"""
import asyncio
import csv
import functools
import os
import pickle
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kit_helpers import REPO, collect_all, make_course, reference_submission, untouched_submission

pytestmark = pytest.mark.slow

HOST = "127.0.0.1"
def _autograded_points():
    import nbformat
    from kit_helpers import REPO
    return sum(c.metadata["nbgrader"].get("points", 0) for name in ("svm.ipynb", "softmax.ipynb")
               for c in nbformat.read(REPO / "notebooks" / name, as_version=4).cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"))


AUTO_POINTS = _autograded_points()  # the assignment's autograded points (the notebooks' own)
STARTUP_TIMEOUT = 45      # seconds for the scheduler and both workers to come up
GRADING_TIMEOUT = 100     # seconds for `kit autograde` on two submissions (about 40 here)


def installed_command(name):
    """The console script `name` of the Python running the tests (where the README's install
    put it), else the one on PATH; None if there is none."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def clean_env():
    """The environment a user's shell gives: no PYTHONPATH (the issue's workaround)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def skip(reason):
    print(reason)
    pytest.skip(reason)


def start(args, *, cwd, log):
    """A process in a session of its own (so that it and its children stop together)."""
    cwd.mkdir(parents=True, exist_ok=True)
    out = open(log, "wb")
    try:
        return subprocess.Popen(args, cwd=cwd, env=clean_env(), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        out.close()


def stop(proc, timeout=20):
    """SIGTERM to the process group we started, then SIGKILL after `timeout` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)  # start_new_session: its group id is its pid
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; make sure nothing it started (nannies' workers, kernels) stays
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


def tail(path, chars=3000):
    try:
        return Path(path).read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_for_workers(address, count, processes, logs, security):
    """Wait until the scheduler at `address` has `count` workers; return {worker address:
    its nanny's address}. `security`: the course's client certificate (a distributed.Security)."""
    from distributed import Client
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = None
    while time.monotonic() < deadline:
        dead = [name for name, proc in processes.items() if proc.poll() is not None]
        if dead:
            break
        try:
            with Client(address, security=security, timeout=5) as client:
                client.wait_for_workers(count, timeout=max(1, deadline - time.monotonic()))
                return {w: info["nanny"] for w, info in client.scheduler_info()["workers"].items()}
        except (OSError, TimeoutError) as err:
            last_error = err
            time.sleep(0.5)
    raise AssertionError(f"the Dask cluster did not come up with {count} workers ({last_error}); "
                         + "".join(f"\n--- {name} log ---\n{tail(log)}" for name, log in logs.items()))


def kit_command(*args, cwd, timeout=60):
    """`python -m kit ARGS...` as the instructor types it, from `cwd`, with a clean environment."""
    return subprocess.run([sys.executable, "-m", "kit", *map(str, args)], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=timeout)


def tls_options(folder):
    """The README's TLS options of `dask scheduler` / `dask worker`, for the copied `folder`."""
    return ["--tls-ca-file", f"{folder}/ca.pem", "--tls-cert", f"{folder}/cert.pem",
            "--tls-key", f"{folder}/key.pem"]


@pytest.fixture
def readme_cluster(tmp_path):
    """The README's commands on 127.0.0.1: `kit certificates` for the course, its scheduler/
    and worker/ folders copied to the "machines" (folders outside the repository), `dask
    scheduler` and `dask worker` started there with them."""
    dask = installed_command("dask")
    if not dask:
        skip("the `dask` command is missing (python -m pip install -r requirements.txt installs it)")
    from kit import sandbox
    from kit.autograde import cluster
    isolated, why_not = sandbox.isolation_status()
    if not isolated:
        skip(f"Dask workers grade only in the sandbox, which does not work here: {why_not}")
    outside = tmp_path / "elsewhere"  # not the repository: the kit must come from the install
    course = tmp_path / "course"      # make_course(tmp_path) releases into it later
    course.mkdir()
    written = kit_command("certificates", "--course", course, cwd=tmp_path)
    assert written.returncode == 0, written.stdout + written.stderr
    machines = {"scheduler": outside / "scheduler-machine", "worker": outside / "worker-machine"}
    for role, machine in machines.items():  # the README: copy scheduler/ and worker/ there
        shutil.copytree(course / ".dask-tls" / role, machine / role)
    port = free_port()
    address = f"tls://{HOST}:{port}"
    logs = {"scheduler": tmp_path / "scheduler.log", "worker": tmp_path / "worker.log"}
    processes = {}
    try:
        processes["scheduler"] = start(
            [dask, "scheduler", "--host", HOST, "--port", str(port), "--no-dashboard",
             *tls_options("scheduler")], cwd=machines["scheduler"], log=logs["scheduler"])
        processes["worker"] = start(
            [dask, "worker", address, "--nworkers", "2", "--nthreads", "1",
             "--host", HOST, "--no-dashboard", "--local-directory", str(outside / "worker-space"),
             *tls_options("worker")], cwd=machines["worker"], log=logs["worker"])
        yield dict(address=address, processes=processes, logs=logs, outside=outside, course=course,
                   access=cluster.check_scheduler(address, course=course))
    finally:
        for name in ("worker", "scheduler"):
            if name in processes:
                stop(processes[name])


def attacker_contexts(other_client):
    """What someone without the course's client certificate can try: {name: (scheme, TLS
    context or None)}. The TLS ones trust any server (an attacker does not care whom it
    reaches); `other_client` is a client folder written by another `kit certificates`."""
    def context(cert_folder=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if cert_folder:
            ctx.load_cert_chain(cert_folder / "cert.pem", cert_folder / "key.pem")
        return ctx
    return {"plain tcp": ("tcp", None), "TLS without a certificate": ("tls", context()),
            "TLS with another CA's certificate": ("tls", context(other_client))}


def connection_args(ctx):
    return {"ssl_context": ctx, "require_encryption": False, "extra_conn_args": {}}


def attacker_security(ctx):
    """A distributed.Security whose connections use the attacker's own TLS context (or plain
    tcp), for a Client."""
    from distributed.security import Security

    class AttackerSecurity(Security):
        def get_connection_args(self, role):
            return connection_args(ctx)
    return AttackerSecurity(require_encryption=False)


def write_marker(path):
    """A call any Dask process can unpickle (pathlib is everywhere) that leaves a file."""
    return functools.partial(Path.write_text, Path(path), "ran")


def run_through_client(address, security, marker):
    """client.run(write the marker) on every worker through the scheduler at `address`."""
    from distributed import Client
    with Client(address, security=security, timeout=5) as client:
        return client.run(write_marker(marker))


def run_on_server(address, args, marker):
    """The "run" handler that workers and nannies serve, called directly at `address`."""
    from distributed.core import rpc

    async def call():
        server = rpc(address, connection_args=args, timeout=5)
        try:
            return await server.run(function=pickle.dumps(write_marker(marker)))
        finally:
            await server.close_rpc()
    return asyncio.run(call())


def test_without_the_course_certificate_nothing_connects_or_runs(readme_cluster, tmp_path):
    """The red-team finding: anyone who could reach the README's scheduler ran code on its
    workers (and so forged grades). Now the scheduler, the workers and their nannies refuse
    every peer whose certificate the course's CA did not sign, and nothing they were sent runs;
    the same calls with the course's client certificate do run (so the check can see a run)."""
    c = readme_cluster
    servers = wait_for_workers(c["address"], 2, c["processes"], c["logs"], c["access"].security())
    assert all(w.startswith(f"tls://{HOST}:") and n.startswith(f"tls://{HOST}:")
               for w, n in servers.items()), servers
    other = tmp_path / "other-course"
    other.mkdir()
    assert kit_command("certificates", "--course", other, cwd=tmp_path).returncode == 0
    endpoints = [c["address"], *servers, *servers.values()]
    markers = tmp_path / "markers"
    markers.mkdir()
    for number, (attack, (scheme, ctx)) in enumerate(attacker_contexts(other / ".dask-tls" / "client").items()):
        for index, endpoint in enumerate(endpoints):
            target = endpoint.replace("tls://", f"{scheme}://", 1)
            marker = markers / f"attack-{number}-{index}"
            try:
                if endpoint == c["address"]:
                    outcome = run_through_client(target, attacker_security(ctx), marker)
                else:
                    outcome = run_on_server(target, connection_args(ctx), marker)
            except (OSError, TimeoutError) as err:  # refused (CommClosedError is an OSError)
                outcome = f"refused ({type(err).__name__})"
            assert not marker.exists() and str(outcome).startswith("refused"), \
                f"{attack} to {target}: {outcome}"
    # The same calls with the course's client certificate run (the test can see a run).
    security = c["access"].security()
    assert run_through_client(c["address"], security, markers / "instructor") == {w: 3 for w in servers}
    assert (markers / "instructor").read_text() == "ran"
    worker = next(iter(servers))
    run_on_server(worker, security.get_connection_args("client"), markers / "instructor-worker")
    assert (markers / "instructor-worker").read_text() == "ran"


def test_readme_dask_commands_grade_through_a_real_scheduler_and_workers(readme_cluster, tmp_path,
                                                                         cifar10_dir):
    started = time.monotonic()
    # Release and collect while the cluster starts (into the course folder whose
    # certificates the cluster uses: `kit autograde` finds its client certificate there).
    course = make_course(tmp_path)
    assert course == readme_cluster["course"]
    subs = tmp_path / "subs"
    reference = reference_submission(course, subs / "daskref")
    untouched = untouched_submission(course, subs / "daskuntouched")
    collect_all(course, [reference, untouched])
    prepared = time.monotonic()

    workers = wait_for_workers(readme_cluster["address"], 2, readme_cluster["processes"],
                               readme_cluster["logs"], readme_cluster["access"].security())
    assert len(workers) == 2 and all(w.startswith(f"tls://{HOST}:") for w in workers), workers
    ready = time.monotonic()

    proc = subprocess.run(
        [sys.executable, "-m", "kit", "autograde", "--course", str(course),
         "--scheduler", readme_cluster["address"], "--tests-only", "--data", cifar10_dir],
        cwd=readme_cluster["outside"], env=clean_env(), capture_output=True, text=True,
        timeout=GRADING_TIMEOUT)
    graded = time.monotonic()
    output = proc.stdout + proc.stderr
    context = (output[-4000:] + "".join(f"\n--- {name} log ---\n{tail(log)}"
                                         for name, log in readme_cluster["logs"].items()))
    # A grader error (e.g. "Error during deserialization of the task graph" where the
    # scheduler cannot import the kit) is reported, not stored, and exits with 1.
    assert "grader error" not in output.lower() and "the grader failed" not in output.lower(), context
    assert proc.returncode == 0, context

    with open(course / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"daskref", "daskuntouched"}, context
    assert float(rows["daskref"]["auto"]) == AUTO_POINTS, rows["daskref"]
    assert float(rows["daskuntouched"]["auto"]) == 0, rows["daskuntouched"]
    for student in rows:
        assert rows[student]["status"] != "grader error", rows[student]
    # The table on the terminal shows each autograded score out of its maximum.
    for student, points in (("daskref", AUTO_POINTS), ("daskuntouched", 0)):
        assert re.search(rf"^\s*{student}\s+{points}\s*/\s*{AUTO_POINTS}\s", proc.stdout, re.M), \
            proc.stdout[-3000:]
    print(f"release and collect {prepared - started:.1f} s; cluster ready after "
          f"{ready - started:.1f} s; `kit autograde --scheduler` on 2 submissions "
          f"{graded - ready:.1f} s ({(graded - ready) / 2:.1f} s per submission); "
          f"load average {os.getloadavg()[0]:.2f}")


def test_kit_console_script(tmp_path):
    """`kit` (pyproject.toml's console script) is `python -m kit`, from any folder."""
    kit = installed_command("kit")
    assert kit, "no `kit` command: install the project with `python -m pip install -r requirements.txt`"
    proc = subprocess.run([kit, "--help"], cwd=tmp_path, env=clean_env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for command in ("release", "collect", "autograde", "feedback", "demo"):
        assert command in proc.stdout
    # The exit code main() returns reaches the shell (sys.exit semantics): a refused input is 3.
    proc = subprocess.run([kit, "autograde", "--course", str(tmp_path / "no-course")], cwd=tmp_path,
                          env=clean_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3 and proc.stderr.startswith("error: expected the source"), \
        proc.stdout + proc.stderr


def test_installed_kit_imports_from_outside_the_repository_and_shows_only_itself(tmp_path):
    """The editable install maps `kit` only: classifiers/ (the solutions), utils/ and bench/ are
    not importable from everywhere, but a process that imports kit uses the repository's utils."""
    def python(code):
        return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=clean_env(),
                              capture_output=True, text=True, timeout=60)
    for package in ("classifiers", "utils", "bench"):
        proc = python(f"import {package}")
        assert proc.returncode == 1 and "ModuleNotFoundError" in proc.stderr, (package, proc.stderr)
    proc = python("import kit.course, kit.cells, utils; print(kit.course.KIT_ROOT); print(utils.__file__)")
    assert proc.returncode == 0, proc.stderr
    root, utils_file = proc.stdout.split()
    assert Path(root) == REPO
    assert Path(utils_file) == REPO / "utils" / "__init__.py"


def readme_commands(prefix):
    """The README's shell commands that start with `prefix`, backslash continuations joined."""
    text = (REPO / "README.md").read_text().replace("\\\n", " ")
    return [" ".join(line.split()) for line in text.splitlines() if line.strip().startswith(prefix)]


def test_the_readme_documents_only_the_secured_cluster():
    """Every Dask command the README gives uses the course's certificates, none listens on
    every interface or shows the dashboard, and `kit autograde` is given a tls:// address
    (the red-team finding came from `dask scheduler --host 0.0.0.0` with plain tcp)."""
    dask = readme_commands("dask ")
    assert {c.split()[1] for c in dask} == {"scheduler", "worker"}, dask
    for command in dask:
        role = command.split()[1]
        assert all(option in command for option in tls_options(role)), command
        assert "--no-dashboard" in command and "0.0.0.0" not in command and "tcp://" not in command, command
    # The one-machine commands are the ones readme_cluster starts (port and folders aside).
    assert "dask scheduler --host 127.0.0.1 --port 8786 --no-dashboard " + " ".join(tls_options("scheduler")) in dask
    assert ("dask worker tls://127.0.0.1:8786 --nworkers 2 --nthreads 1 --host 127.0.0.1 --no-dashboard "
            + " ".join(tls_options("worker"))) in dask
    graded = [c for c in readme_commands("python -m kit autograde") if "--scheduler" in c]
    assert graded and all("--scheduler tls://" in c for c in graded), graded
    assert readme_commands("python -m kit certificates --course")
