"""Two kernels graded at the same time cannot pass a byte to each other.

The red-team submission of issue 23 read the hidden tests in the test kernel and handed
them to the checking kernel, running beside it in another sandbox, as byte-range locks on
a read-only file both could see (the CIFAR-10 folder). Here two kernels are started the way
the grader starts them (kit.autograde.runner: the same sandbox, the data folder read-only,
the kit's own folder hidden) at the same time: the sender puts a token into every channel
we could think of and keeps its kernel alive; the receiver, started after it, looks for
the token in each. It must find it nowhere. Each channel is a mechanism, not a guess at a
file: locks of every kind on the shared file, inotify on it, the host-wide counters in
/proc and sysinfo, the user keyring, POSIX message queues, abstract sockets, /dev/shm and
/tmp. (Timing through shared CPUs and caches is not closed by any of this: see
docs/sandbox.md, "Channels between sandboxes".)
"""
import asyncio
import json
import secrets
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kit import sandbox
from kit.course import KIT_ROOT

AVAILABLE, REASON = sandbox.isolation_status()
pytestmark = pytest.mark.skipif(not AVAILABLE, reason="bubblewrap is not usable here: " + REASON)

COMMON = r"""
import ctypes, ctypes.util, errno, fcntl, json, os, socket, struct, threading, time
libc = ctypes.CDLL(None, use_errno=True)
SHARED = os.path.join(os.environ["CIFAR10_DIR"], "batches.meta")
TOKEN = %(token)r
BITS = [int(b) for b in format(int(TOKEN[:4], 16), "016b")]   # 16 bits of the token
def attempt(fn):
    try:
        return fn()
    except Exception as err:
        return "refused: " + type(err).__name__
F_OFD_GETLK, F_OFD_SETLK = 36, 37
def flock_struct(kind, start, length=1):
    return struct.pack("hhqqi", kind, 0, start, length, 0)
"""

SENDER = COMMON + r"""
held = open(SHARED, "rb")
posix = open(SHARED, "rb")
result = {}
# Byte-range locks: bit i set means a read lock on byte i (OFD) or byte 100 + i (POSIX).
def ofd_locks():
    for i, bit in enumerate(BITS):
        if bit:
            fcntl.fcntl(held, F_OFD_SETLK, flock_struct(fcntl.F_RDLCK, i))
    return "sent"
result["ofd"] = attempt(ofd_locks)
def posix_locks():
    for i, bit in enumerate(BITS):
        if bit:
            fcntl.lockf(posix, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 100 + i)
    return "sent"
result["posix"] = attempt(posix_locks)
result["flock"] = attempt(lambda: fcntl.flock(open(SHARED, "rb"), fcntl.LOCK_EX | fcntl.LOCK_NB) or "sent")
# Host-wide counters: 20 to 35 sleeping threads, by the token (the pids limit is 64).
stop = threading.Event()
threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(int(TOKEN[0], 16) + 20)]
for t in threads:
    t.start()
result["threads"] = len(threads)
# A key in the user's keyring (keyctl add_key through the raw system call).
def add_key():
    SYS_add_key = 248
    rc = libc.syscall(SYS_add_key, b"user", b"kit-channel", TOKEN.encode(), len(TOKEN), -4)  # @u
    if rc < 0:
        raise OSError(ctypes.get_errno(), "add_key")
    return "sent"
result["keyring"] = attempt(add_key)
def message_queue():
    rt = ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1", use_errno=True)
    rt.mq_open.restype = ctypes.c_int
    fd = rt.mq_open(b"/kit-channel", os.O_CREAT | os.O_RDWR, 0o666, None)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "mq_open")
    rt.mq_send(fd, TOKEN.encode(), len(TOKEN), 0)
    return "sent"
result["mqueue"] = attempt(message_queue)
def abstract_socket():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\0kit-channel")
    s.listen(1)
    globals()["listener"] = s
    return "sent"
result["abstract"] = attempt(abstract_socket)
for folder in ("/dev/shm", "/tmp"):
    result[folder] = attempt(lambda: open(os.path.join(folder, "kit-channel"), "w").write(TOKEN) and "sent")
print(json.dumps(result))
"""

RECEIVER = COMMON + r"""
seen = {}
probe = open(SHARED, "rb")
def ofd_bits():
    bits = []
    for i in range(16):
        answer = fcntl.fcntl(probe, F_OFD_GETLK, flock_struct(fcntl.F_WRLCK, i))
        bits.append(int(struct.unpack("hhqqi", answer)[0] != fcntl.F_UNLCK))
    return bits
seen["ofd"] = attempt(ofd_bits)
def posix_bits():
    bits = []
    for i in range(16):
        answer = fcntl.fcntl(probe, fcntl.F_GETLK, flock_struct(fcntl.F_WRLCK, 100 + i))
        bits.append(int(struct.unpack("hhqqi", answer)[0] != fcntl.F_UNLCK))
    return bits
seen["posix"] = attempt(posix_bits)
def flock_busy():
    try:
        fcntl.flock(open(SHARED, "rb"), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
seen["flock"] = attempt(flock_busy)
seen["inotify"] = attempt(lambda: libc.inotify_init1(0) >= 0 or "refused")
seen["loadavg"] = open("/proc/loadavg").read()
seen["stat"] = [line for line in open("/proc/stat") if line.startswith(("procs", "processes"))]
seen["proc_locks"] = open("/proc/locks").read()
class SysInfo(ctypes.Structure):
    _fields_ = [("uptime", ctypes.c_long), ("loads", ctypes.c_ulong * 3), ("totalram", ctypes.c_ulong),
                ("freeram", ctypes.c_ulong), ("sharedram", ctypes.c_ulong), ("bufferram", ctypes.c_ulong),
                ("totalswap", ctypes.c_ulong), ("freeswap", ctypes.c_ulong), ("procs", ctypes.c_ushort),
                ("pad", ctypes.c_char * 64)]
def sysinfo_procs():
    info = SysInfo()
    if libc.sysinfo(ctypes.byref(info)) != 0:
        return "refused"
    return info.procs
seen["sysinfo"] = attempt(sysinfo_procs)
def keyring():
    SYS_request_key = 249
    rc = libc.syscall(SYS_request_key, b"user", b"kit-channel", None, 0)
    return "refused" if rc < 0 else "FOUND"
seen["keyring"] = attempt(keyring)
def message_queue():
    rt = ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1", use_errno=True)
    fd = rt.mq_open(b"/kit-channel", os.O_RDONLY, 0, None)
    return "refused" if fd < 0 else "FOUND"
seen["mqueue"] = attempt(message_queue)
def abstract_socket():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\0kit-channel")
    return "FOUND"
seen["abstract"] = attempt(abstract_socket)
for folder in ("/dev/shm", "/tmp"):
    seen[folder] = os.path.exists(os.path.join(folder, "kit-channel"))
print(json.dumps(seen))
"""


def kernel(workdir, data_dir):
    """A kernel manager exactly as kit.autograde.runner.grading_runner makes one."""
    return sandbox.kernel_manager(workdir=workdir, readonly=[data_dir], require_isolation=True,
                                  hidden=[KIT_ROOT], client_class="kit.outputs.BoundedKernelClient")


def output_json(cell):
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    assert not errors, f"the cell raised: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    return json.loads(text.strip().splitlines()[-1])


async def exchange(data_dir, token):
    """Run the sender, then (its kernel alive, its token out) the receiver; both results."""
    env = {"CIFAR10_DIR": data_dir}
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        sender_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SENDER % {"token": token})])
        receiver_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(RECEIVER % {"token": "0000"})])
        sender = NotebookClient(sender_nb, km=kernel(one, data_dir), timeout=60, allow_errors=True)
        receiver = NotebookClient(receiver_nb, km=kernel(two, data_dir), timeout=60, allow_errors=True)
        async with sender.async_setup_kernel(cleanup_kc=True, env=env):
            await sender.async_execute_cell(sender_nb.cells[0], 0)
            async with receiver.async_setup_kernel(cleanup_kc=True, env=env):
                await receiver.async_execute_cell(receiver_nb.cells[0], 0)
        return output_json(sender_nb.cells[0]), output_json(receiver_nb.cells[0])


@pytest.fixture(scope="module")
def exchanged(cifar10_dir):
    token = secrets.token_hex(8)
    sent, seen = asyncio.run(exchange(str(Path(cifar10_dir).resolve()), token))
    print("sender:", sent)
    print("receiver:", seen)
    return token, sent, seen


def test_lock_channels_carry_nothing(exchanged):
    token, sent, seen = exchanged
    bits = [int(b) for b in format(int(token[:4], 16), "016b")]
    for channel in ("ofd", "posix"):
        assert seen[channel] != bits, f"the receiver read the sender's bits through {channel} locks"
        assert str(seen[channel]).startswith("refused"), \
            f"expected locks ({channel}) to be refused in the sandbox, got {seen[channel]!r} instead"
        assert str(sent[channel]).startswith("refused"), sent
    assert seen["flock"] is not True and str(seen["flock"]).startswith("refused"), seen["flock"]
    assert seen["proc_locks"] == "", "expected /proc/locks to be empty (covered), got lock lines instead"


def test_watches_refused(exchanged):
    _, _, seen = exchanged
    assert seen["inotify"] in ("refused", False) or str(seen["inotify"]).startswith("refused"), seen["inotify"]


def test_host_counters_do_not_move(exchanged):
    _, sent, seen = exchanged
    assert sent["threads"] >= 20
    assert seen["loadavg"] == "0.00 0.00 0.00 1/1 1\n", \
        f"expected the constant /proc/loadavg, got {seen['loadavg']!r} instead (the host's thread count)"
    assert seen["stat"] == ["processes 1\n", "procs_running 1\n", "procs_blocked 0\n"], seen["stat"]
    assert seen["sysinfo"] == "refused", f"expected sysinfo to be refused, got {seen['sysinfo']!r}"


def test_per_user_and_namespace_state_not_shared(exchanged):
    _, _, seen = exchanged
    for channel in ("keyring", "mqueue", "abstract"):
        assert seen[channel] != "FOUND", f"the receiver found the sender's {channel}"
    assert seen["/dev/shm"] is False and seen["/tmp"] is False
