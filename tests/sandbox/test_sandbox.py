"""Tests for kit/sandbox/: real kernels in bubblewrap, driven by nbclient.

Every test starts its own small kernel (about 1-2 s each). Tests that would hurt the
machine without limits (fork bomb, 50 GB allocation, 10 GB file) first check that the
limit is in force for that kernel (km.enforcement) and skip otherwise. Only 127.0.0.1
is ever used for networking.
"""
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading

import pytest
from nbclient.exceptions import DeadKernelError

from kit import sandbox
from sandbox_helpers import run_cells, stdout
from kit.sandbox import GiB, MiB, Limits

AVAILABLE, REASON = sandbox.isolation_status()
NEEDS_NO_BWRAP = ("test_unisolated_fallback_warns_or_refuses", "test_limits_reject_bad_values",
                  "test_launcher_says_why_it_cannot_set_up", "test_launch_plan_takes_a_mode_only")


@pytest.fixture(autouse=True)
def require_bwrap(request):
    """Skip, saying why, every test that needs a working bubblewrap when there is none."""
    if AVAILABLE or request.node.name in NEEDS_NO_BWRAP:
        return
    print("sandbox test skipped: " + REASON)
    pytest.skip("bubblewrap is not usable here: " + REASON)


@pytest.fixture
def workdir(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "submitted.txt").write_text("student file")
    return folder


def error_name(cell):
    names = [o.ename for o in cell.outputs if o.output_type == "error"]
    return names[0] if names else None


def host_file_under_root():
    """A readable file under /root that the sandbox must not show, or None."""
    try:
        names = sorted(os.listdir("/root"))
    except OSError:
        return None
    for name in names:
        path = os.path.join("/root", name)
        if os.path.isfile(path) and not sys.prefix.startswith(path):
            return path
    version = os.path.join("/root", ".pyenv", "version")  # pyenv's global version file
    return version if os.path.isfile(version) else None


PROBES = r'''
import ctypes, json, os, socket
res = {}
def attempt(fn):
    try:
        return "ok: %r" % (fn(),)
    except BaseException as e:
        return "%s: %s" % (type(e).__name__, e)
def write(path, mode="w"):
    with open(path, mode) as f:
        return f.write("x")
res["read_outside"] = attempt(lambda: open(CFG["outside_file"]).read())
res["list_outside"] = attempt(lambda: os.listdir(CFG["outside_dir"]))
res["read_root_file"] = CFG["root_file"] and attempt(lambda: open(CFG["root_file"]).read(10))
res["root_listing"] = sorted(os.listdir("/root")) if os.path.isdir("/root") else []
res["write_outside"] = attempt(lambda: write(CFG["outside_dir"] + "/new.txt"))
res["write_usr"] = attempt(lambda: write("/usr/kit-sandbox-test"))
res["write_etc"] = attempt(lambda: write("/etc/passwd", "a"))
res["write_python"] = attempt(lambda: write(CFG["prefix"] + "/kit-sandbox-test"))
res["write_root_dir"] = attempt(lambda: write("/kit-sandbox-test"))
def write_same(path):  # a host-wide sysctl, rewritten with its own value: harmless either way
    value = open(path).read()
    with open(path, "w") as f:
        return f.write(value)
res["write_sysctl"] = attempt(lambda: write_same("/proc/sys/kernel/core_pattern"))
res["write_workdir"] = attempt(lambda: write("inside.txt"))
res["read_submitted"] = attempt(lambda: open("submitted.txt").read())
res["write_tmp"] = attempt(lambda: write("/tmp/kit-sandbox-private"))
res["read_ro"] = attempt(lambda: open(CFG["ro_file"]).read())
res["write_ro"] = attempt(lambda: write(CFG["ro_file"], "a"))
res["create_in_ro"] = attempt(lambda: write(CFG["ro_dir"] + "/new.txt"))
res["connect"] = attempt(
    lambda: socket.create_connection(("127.0.0.1", CFG["port"]), timeout=3).close())
res["interfaces"] = [name for _, name in socket.if_nameindex()]
res["env"] = sorted(os.environ)
res["marker"] = os.environ.get(CFG["marker"])
res["given"] = os.environ.get("KIT_SANDBOX_GIVEN")
res["home"] = os.environ.get("HOME")
res["cwd"] = os.getcwd()
res["cap_eff"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
libc = ctypes.CDLL(None, use_errno=True)
def syscall_result(rc):
    return "ok" if rc == 0 else "failed: " + os.strerror(ctypes.get_errno())
MS_REMOUNT, MS_BIND = 32, 4096
res["mount_tmpfs"] = syscall_result(libc.mount(b"none", os.getcwd().encode(), b"tmpfs", 0, None))
res["remount_root_rw"] = syscall_result(libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND, None))
res["remount_ro_rw"] = syscall_result(
    libc.mount(None, CFG["ro_dir"].encode(), None, MS_REMOUNT | MS_BIND, None))
res["unshare_userns"] = syscall_result(libc.unshare(0x10000000 | 0x00020000))
print(json.dumps(res))
'''


def test_isolation_status_names_the_mode_used():
    available, reason = sandbox.isolation_status()
    mode = sandbox.isolation_mode()
    print("isolation:", available, reason)
    # Only reached with a working bubblewrap (see require_bwrap): a mode this user can use.
    assert available is True and mode in sandbox.Mode.candidates()
    assert reason.startswith("bubblewrap isolates kernels") and mode.describe() in reason
    if os.geteuid() == 0:
        assert mode is not sandbox.Mode.USER


def test_sandbox_hides_host_blocks_network_and_clears_env(workdir, tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret")
    ro_dir = tmp_path / "readonly"
    ro_dir.mkdir()
    (ro_dir / "utils.py").write_text("SHARED = 1\n")
    # World-writable on the host: only the read-only bind can stop writes.
    os.chmod(ro_dir, 0o777)
    os.chmod(ro_dir / "utils.py", 0o666)
    os.chmod(tmp_path, 0o700)  # like /root: the sandbox uid cannot traverse it on the host
    marker = "KIT_SANDBOX_MARKER_%d" % os.getpid()
    monkeypatch.setenv(marker, "leaked")
    monkeypatch.setenv("KIT_QUICK", "1")  # an assignment's setting: the grader passes it, not the sandbox

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def accept_loop():
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                pass
    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()

    cfg = {"outside_file": str(outside / "secret.txt"), "outside_dir": str(outside),
           "root_file": host_file_under_root(), "prefix": sys.prefix,
           "ro_dir": str(ro_dir), "ro_file": str(ro_dir / "utils.py"),
           "port": listener.getsockname()[1], "marker": marker}
    km = sandbox.AsyncSandboxedKernelManager(workdir=str(workdir), readonly_paths=[str(ro_dir)])

    def short_timeout_for_sleep(index, client):
        client.timeout = 2 if index == 2 else 20
    try:
        cells, error = run_cells(km, ["CFG = %s" % json.dumps(cfg), PROBES,
                                      "import time; time.sleep(30)", "print('after interrupt')"],
                                 env={"KIT_SANDBOX_GIVEN": "yes"},
                                 before_cell=short_timeout_for_sleep)
    finally:
        stop.set()
        thread.join(2)
        listener.close()
    assert error is None
    assert error_name(cells[1]) is None, cells[1].outputs
    res = json.loads(stdout(cells[1]).strip().splitlines()[-1])
    print(json.dumps(res, indent=1))

    # Nothing outside the sandbox is visible or writable.
    assert res["read_outside"].startswith(("FileNotFoundError", "PermissionError")), res
    assert res["list_outside"].startswith(("FileNotFoundError", "PermissionError"))
    if res["read_root_file"] is not None:
        assert res["read_root_file"].startswith(("FileNotFoundError", "PermissionError"))
    assert set(res["root_listing"]) <= {".pyenv", ".local"}, res["root_listing"]
    for key in ("write_outside", "write_usr", "write_etc", "write_python", "write_root_dir",
                "write_sysctl"):
        assert not res[key].startswith("ok"), (key, res[key])
    assert not (outside / "new.txt").exists()
    assert not os.path.exists("/tmp/kit-sandbox-private")  # its /tmp is private
    # The workdir is readable and writable, and it is the kernel's cwd and HOME; what the
    # kernel writes stays in its own copy (a tmpfs with a quota), never on the host.
    assert res["read_submitted"] == "ok: 'student file'"
    assert res["write_workdir"].startswith("ok")
    assert not (workdir / "inside.txt").exists()
    assert res["cwd"] == res["home"] == os.path.realpath(workdir)
    # Read-only paths: readable, not writable.
    assert res["read_ro"] == "ok: 'SHARED = 1\\n'"
    assert res["write_ro"].startswith("OSError") and "Read-only" in res["write_ro"]
    assert res["create_in_ro"].startswith("OSError") and "Read-only" in res["create_in_ro"]
    assert (ro_dir / "utils.py").read_text() == "SHARED = 1\n"
    # No network: the host's 127.0.0.1 listener is unreachable, only lo exists.
    assert not res["connect"].startswith("ok"), res["connect"]
    assert accepted == []
    assert res["interfaces"] == ["lo"]
    # Environment: cleared; only what was passed explicitly comes in.
    assert res["marker"] is None and marker not in res["env"]
    assert "KIT_QUICK" not in res["env"]
    assert res["given"] == "yes"
    # No capabilities, no mounts, no new user namespaces.
    assert res["cap_eff"] == "0000000000000000"
    for key in ("mount_tmpfs", "remount_root_rw", "remount_ro_rw", "unshare_userns"):
        assert res[key].startswith("failed"), (key, res[key])
    # A cell over its timeout is interrupted (by message) and the kernel lives on.
    assert error_name(cells[2]) == "KeyboardInterrupt"
    assert stdout(cells[3]).strip() == "after interrupt"
    # After shutdown the workdir belongs to its owner again and nothing is left behind.
    assert all(p.stat().st_uid == os.getuid() for p in workdir.rglob("*"))
    run_dir = os.path.dirname(os.path.dirname(km.connection_file))
    assert run_dir.startswith("/tmp/kitsb-") and not os.path.exists(run_dir)


LEAVE_RUNNING = r"""
import json, sys
from kit import sandbox
km = sandbox.SandboxedKernelManager(workdir=sys.argv[1], kernel_name="python3")
km.start_kernel()
print(json.dumps({"connection_file": km.connection_file, "cgroups": km.cgroup_folders,
                  "pid": km.provisioner.process.pid}), flush=True)
"""  # and exits with the kernel still running: no shutdown, no cleanup by the caller


def test_a_kernel_left_running_at_exit_is_killed_and_cleaned(workdir):
    proc = subprocess.run([sys.executable, "-c", LEAVE_RUNNING, str(workdir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    left = json.loads(proc.stdout.strip().splitlines()[-1])
    run_dir = os.path.dirname(os.path.dirname(left["connection_file"]))
    assert run_dir.startswith("/tmp/kitsb-") and not os.path.exists(run_dir)
    assert not any(os.path.exists(folder) for folder in left["cgroups"])
    state = ""
    if os.path.exists(f"/proc/{left['pid']}/stat"):
        state = open(f"/proc/{left['pid']}/stat").read().rpartition(")")[2].split()[0]
    assert state in ("", "Z"), state  # the sandbox's first process is gone (or only unreaped)
    assert all(p.stat().st_uid == os.getuid() for p in workdir.rglob("*"))  # given back

def hidden_layout(tmp_path):
    """Folders like a kit repository inside a bound folder: {name: path} (all str).

    course/ (bound read-only) holds notes.txt, grades.csv and kit/ with reference.py (the
    secret) and visible/data.txt (visible/ bound read-only too); repo/ (bound read-only)
    holds secret.txt; elsewhere/ is bound nowhere.
    """
    course = tmp_path / "course"
    kit = course / "kit"
    (kit / "visible").mkdir(parents=True)
    (kit / "reference.py").write_text("SOLUTION = 42\n")
    (kit / "visible" / "data.txt").write_text("data")
    (course / "notes.txt").write_text("notes")
    (course / "grades.csv").write_text("grades")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "secret.txt").write_text("secret")
    (tmp_path / "elsewhere").mkdir()
    paths = {"course": course, "kit": kit, "visible": kit / "visible",
             "secret": kit / "reference.py", "visible_file": kit / "visible" / "data.txt",
             "sibling": course / "notes.txt", "grades": course / "grades.csv",
             "repo": repo, "repo_secret": repo / "secret.txt", "elsewhere": tmp_path / "elsewhere"}
    return {name: os.path.realpath(path) for name, path in paths.items()}


def test_hidden_paths_are_covered_in_mount_order(workdir, tmp_path):
    p = hidden_layout(tmp_path)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    plan = sandbox.LaunchPlan(mode=sandbox.Mode.USER, bwrap="bwrap", workdir=str(workdir),
                              run_dir=str(run_dir), ipc_dir=None,
                              readonly=[p["course"], p["visible"], p["repo"]],
                              env={}, limits=Limits(), etc_dir=None,
                              hidden=[p["kit"], p["kit"] + "/visible/inner", p["secret"],
                                      p["grades"], p["repo"], p["elsewhere"],
                                      str(tmp_path / "missing")])
    args = plan.bwrap_args()

    def at(*items):
        for i in range(len(args)):
            if args[i:i + len(items)] == list(items):
                return i
        raise AssertionError(f"{items} not in {args}")
    # A hidden folder inside a bind: an empty tmpfs (0755) after that bind, before the
    # deeper bind inside it, remounted read-only after that one has its mount point.
    assert (at("--ro-bind", p["course"], p["course"]) < at("--perms", "0755", "--tmpfs", p["kit"])
            < at("--ro-bind", p["visible"], p["visible"]) < at("--remount-ro", p["kit"])
            < at("--remount-ro", "/"))
    # A hidden folder that is itself a bound folder: covered right after its bind.
    assert (at("--ro-bind", p["repo"], p["repo"]) < at("--tmpfs", p["repo"])
            < at("--remount-ro", p["repo"]))
    # A hidden file: an empty read-only file over it.
    empty = str(run_dir / "empty")
    assert at("--ro-bind", empty, p["grades"]) > at("--ro-bind", p["course"], p["course"])
    assert os.path.getsize(empty) == 0
    # Nothing for paths bound nowhere, missing, or inside a hidden folder already.
    for path in (p["elsewhere"], str(tmp_path / "missing"), p["secret"],
                 p["kit"] + "/visible/inner"):
        assert path not in args, path
    assert args.count("--tmpfs") == 5  # /dev/shm, /tmp, kit/, repo/ and the working folder


HIDDEN_PROBE = r"""
import json, os
def attempt(fn):
    try:
        return "ok: %r" % (fn(),)
    except BaseException as e:
        return "%s: %s" % (type(e).__name__, e)
res = {
    "secret": attempt(lambda: open(P["secret"]).read()),
    "kit_listing": attempt(lambda: sorted(os.listdir(P["kit"]))),
    "visible": attempt(lambda: open(P["visible_file"]).read()),
    "sibling": attempt(lambda: open(P["sibling"]).read()),
    "grades": attempt(lambda: open(P["grades"]).read()),
    "repo_listing": attempt(lambda: sorted(os.listdir(P["repo"]))),
    "create_in_kit": attempt(lambda: open(P["kit"] + "/new.txt", "w").close()),
}
print(json.dumps(res))
"""


@pytest.mark.parametrize("hide", [True, False], ids=["hidden", "not-hidden"])
def test_hidden_paths_are_empty_in_the_kernel(workdir, tmp_path, hide):
    p = hidden_layout(tmp_path)
    hidden = [p["kit"], p["grades"], p["repo"]] if hide else []
    km = sandbox.kernel_manager(workdir, readonly=[p["course"], p["visible"], p["repo"]],
                                hidden=hidden)
    assert km.hidden_paths == hidden
    cells, error = run_cells(km, ["P = %s" % json.dumps(p), HIDDEN_PROBE])
    assert error is None and error_name(cells[1]) is None, cells[1].outputs
    res = json.loads(stdout(cells[1]).strip().splitlines()[-1])
    print(json.dumps(res, indent=1))
    # Readonly folders inside a hidden one, and whatever is not hidden, stay readable.
    assert res["visible"] == "ok: 'data'"
    assert res["sibling"] == "ok: 'notes'"
    assert res["create_in_kit"].startswith("OSError") and "Read-only" in res["create_in_kit"]
    if hide:
        assert res["secret"].startswith("FileNotFoundError"), res["secret"]
        assert res["kit_listing"] == "ok: ['visible']"  # only the deeper bind's mount point
        assert res["grades"] == "ok: ''"
        assert res["repo_listing"] == "ok: []"
    else:  # the same files are readable without hidden_paths: the test can fail
        assert res["secret"] == "ok: 'SOLUTION = 42\\n'"
        assert res["kit_listing"] == "ok: ['reference.py', 'visible']"
        assert res["grades"] == "ok: 'grades'"
        assert res["repo_listing"] == "ok: ['secret.txt']"


FILE_CELL = r'''
import os
error = None
with open("big.bin", "wb") as f:
    chunk = b"x" * (16 << 20)
    try:
        for _ in range(640):  # 10 GB in 16 MB chunks, unless a limit stops it first
            f.write(chunk)
    except OSError as err:
        error = err
print(repr(error), os.path.getsize("big.bin"))
os.remove("big.bin")
'''


FORK_CELL = r'''
import os, time
children, failure = [], None
for _ in range(2000):
    try:
        pid = os.fork()
    except OSError as err:
        failure = err
        break
    if pid == 0:  # every child forks too (a bomb), then all of them exit after 1 s
        try:
            for _ in range(50):
                if os.fork() == 0:
                    time.sleep(1)
                    os._exit(0)
        except BaseException:
            pass
        time.sleep(1)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print(len(children), repr(failure))
'''


def test_10gb_file_and_fork_bomb_are_stopped(workdir):
    km = sandbox.AsyncSandboxedKernelManager(
        workdir=str(workdir), limits=Limits(max_file_bytes=32 * MiB, max_processes=32))

    def check(index, client):
        needed = {1: "file_size", 2: "processes"}.get(index)
        if needed and km.enforcement.get(needed) is None:
            print(f"test skipped: no {needed} limit in force here", km.enforcement)
            pytest.skip(f"no {needed} limit in force here")
    cells, error = run_cells(km, ["pass", FILE_CELL, FORK_CELL, "print('alive')"],
                             before_cell=check)
    assert error is None
    # The file stops growing at the limit with EFBIG.
    text = stdout(cells[1])
    assert "File too large" in text, cells[1].outputs
    assert int(text.split()[-1]) <= 32 * MiB
    assert sandbox.limit_hit(km, text).kind == "file_size"
    assert not (workdir / "big.bin").exists()
    # The bomb runs into the process limit and the kernel survives it.
    forked, failure = stdout(cells[2]).split(" ", 1)
    assert int(forked) < 32 and "BlockingIOError" in failure, cells[2].outputs
    assert stdout(cells[3]).strip() == "alive"
    assert sandbox.limit_hit(km).kind == "processes"
    assert km.cgroup_folders == []  # all killed, removed


MEMORY_CELL = r'''
chunks = []
for _ in range(200):  # 50 GB in 256 MB touched chunks, unless a limit stops it first
    chunks.append(b"\x01" * (256 << 20))
print("allocated", len(chunks) * 256, "MB")
'''


# RLIMIT_AS counts address space, not memory: ipykernel needs about 1 GiB of it to run.
@pytest.mark.parametrize("use_cgroups, memory", [(True, 512 * MiB), (False, 1 * GiB)],
                         ids=["cgroup", "rlimit"])
def test_50gb_allocation_fails(workdir, use_cgroups, memory):
    km = sandbox.AsyncSandboxedKernelManager(workdir=str(workdir), use_cgroups=use_cgroups,
                                             limits=Limits(memory_bytes=memory))

    def check(index, client):
        if index == 1 and km.enforcement.get("memory") is None:
            print("memory test skipped: no memory limit in force", km.enforcement)
            pytest.skip("no memory limit in force here")
    cells, error = run_cells(km, ["import numpy", MEMORY_CELL], before_cell=check)
    print("memory limit by", km.enforcement["memory"], "->", error or error_name(cells[1]))
    assert "allocated" not in stdout(cells[1])
    if error is None:
        assert error_name(cells[1]) == "MemoryError", cells[1].outputs
    hit = sandbox.limit_hit(km, error or error_name(cells[1]))
    assert hit is not None and hit.kind == "memory", hit
    assert f"memory limit ({sandbox.format_bytes(memory)}) exceeded" in hit.message
    if error is not None:
        assert sandbox.death_reason(km, error).startswith("the kernel died: memory limit")


def test_cpu_limit_kills_a_busy_loop(workdir):
    km = sandbox.AsyncSandboxedKernelManager(workdir=str(workdir), limits=Limits(cpu_seconds=1))
    cells, error = run_cells(km, ["while True: pass"], timeout=30)
    assert isinstance(error, DeadKernelError)
    assert sandbox.limit_hit(km, error) == ("cpu", "CPU time limit (1 s) exceeded")


def test_unisolated_fallback_warns_or_refuses(workdir, tmp_path):
    broken = str(tmp_path / "no-bwrap-here")  # a reason of its own: warned about once
    available, reason = sandbox.isolation_status(bwrap=broken)
    assert not available and "not found" in reason

    strict = sandbox.kernel_manager(workdir, require_isolation=True, bwrap_path=broken)
    with pytest.raises(sandbox.SandboxUnavailableError):
        asyncio.run(strict.start_kernel())

    km = sandbox.kernel_manager(workdir, bwrap_path=broken, limits=Limits(max_file_bytes=2 * MiB))
    with pytest.warns(sandbox.SandboxWarning):
        cells, error = run_cells(km, [FILE_CELL])
    assert error is None and "File too large" in stdout(cells[0])  # rlimits still apply
    assert km.isolated is False


def test_limits_reject_bad_values():
    with pytest.raises(ValueError, match="expected Limits.memory_bytes"):
        Limits(memory_bytes=10)
    with pytest.raises(ValueError, match="expected Limits.max_processes"):
        Limits(max_processes="64")
    assert Limits().describe("memory") == "memory limit (4 GiB)"
    assert sandbox.format_bytes(512 * MiB) == "512 MiB" and sandbox.format_bytes(4 * GiB) == "4 GiB"


def test_launcher_says_why_it_cannot_set_up(tmp_path):
    """The launcher is a file of its own: a step that fails (here: joining a cgroup that
    does not exist) ends it with LAUNCHER_FAILED and a reason, and nothing is run."""
    marker = tmp_path / "ran"
    config = {"cgroup_procs": [str(tmp_path / "no-cgroup" / "cgroup.procs")], "reveal": None,
              "rlimits": [], "nice": 0, "seccomp": None, "uid": None, "gid": None,
              "ppid": os.getpid(), "env": {}, "cwd": None}
    proc = subprocess.run([sys.executable, "-I", "-S", sandbox.command.LAUNCHER, json.dumps(config),
                           "/usr/bin/touch", str(marker)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == sandbox.LAUNCHER_FAILED, proc.stderr
    assert proc.stderr.startswith("kit.sandbox launcher: FileNotFoundError"), proc.stderr
    assert not marker.exists()
    config["cgroup_procs"] = []  # the same launch without the failing step runs the command
    proc = subprocess.run([sys.executable, "-I", "-S", sandbox.command.LAUNCHER, json.dumps(config),
                           "/usr/bin/touch", str(marker)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and marker.exists(), proc.stderr


def test_launch_plan_takes_a_mode_only(tmp_path):
    with pytest.raises(ValueError, match="expected mode to be a kit.sandbox.Mode or None"):
        sandbox.LaunchPlan(mode="uid", bwrap="bwrap", workdir=str(tmp_path), run_dir=str(tmp_path),
                           ipc_dir=None, readonly=[], env={}, limits=Limits(), etc_dir=None)
