"""Each sandboxed kernel gets one share of the cores, however many processes it starts.

A hog kernel forks 8 busy processes, a fair kernel 1, both in the same wall-clock window;
the fair kernel's CPU time is compared with the hog's whole CPU time. Shared per process
(no cpu cgroup), the fair kernel gets about 1/8 of what the hog gets; shared per kernel
(kit/sandbox/cgroups.py: one cgroup of equal weight per kernel), about as much. Ratios of
CPU times measured in one run, never wall-clock times.
"""
import asyncio
import json
import tempfile
import time

import nbformat
import pytest
from nbclient import NotebookClient

from kit import sandbox

AVAILABLE, REASON = sandbox.isolation_status()
pytestmark = pytest.mark.skipif(not AVAILABLE, reason="bubblewrap is not usable here: " + REASON)

BUSY = r"""
import json, os, resource, time
start, end = %(start)r, %(end)r
children = []
for _ in range(%(processes)d):
    pid = os.fork()
    if pid == 0:
        while time.time() < start:
            time.sleep(0.01)
        while time.time() < end:
            pass
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print(json.dumps({"cpu": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime}))
"""


async def run_busy(workdir, processes, start, end, seen):
    km = sandbox.kernel_manager(workdir=workdir, require_isolation=True,
                                client_class="kit.outputs.BoundedKernelClient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        BUSY % {"start": start, "end": end, "processes": processes})])
    client = NotebookClient(nb, km=km, timeout=120, allow_errors=True)
    async with client.async_setup_kernel(cleanup_kc=True):
        seen.append(km.enforcement.get("cpu_share"))
        await client.async_execute_cell(nb.cells[0], 0)
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("output_type") == "stream")
    return json.loads(text.strip().splitlines()[-1])["cpu"]


def test_a_kernel_with_many_processes_gets_one_share():
    start = time.time() + 8.0          # both kernels started and waiting by then
    end = start + 4.0
    seen = []

    async def both():
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            return await asyncio.gather(run_busy(one, 8, start, end, seen),
                                        run_busy(two, 1, start, end, seen))
    hog, fair = asyncio.run(both())
    print(f"CPU seconds in the window: hog (8 processes) {hog:.2f}, fair (1 process) {fair:.2f}; "
          f"share mechanism {seen}")
    if any(mechanism == "nice" for mechanism in seen):
        pytest.skip("no writable cpu cgroup on this machine: kernels only run at a lower priority")
    assert all(str(m).startswith("cgroup") for m in seen), seen
    # Per process, fair / hog would be about 1/8 on a busy machine (up to 1/4 on two idle
    # cores); per kernel, about 1.
    assert fair / hog > 0.5, f"expected the 1-process kernel to get about as much CPU as the " \
                             f"8-process one, got {fair:.2f} s against {hog:.2f} s instead"
