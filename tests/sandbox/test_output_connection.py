"""A kernel that sends one output message over the size limit loses nothing else.

ZeroMQ drops the connection of a peer whose message is over ZMQ_MAXMSGSIZE and, counting
it a protocol error, does not reconnect: before the grader watched for it, every later
output of that kernel was lost (the test cells' errors the instructor reads, the notebook's
plots) and each later cell waited nbclient's iopub_timeout for a status that never came.
Here the kernels are the grader's own (kit.autograde.runner.KernelRunner, its bounded
client), without the sandbox: the connection is the grader's, whatever isolates the kernel.
"""
import asyncio
import time

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager

from kit.autograde.limits import CellInfo, Hangs
from kit.autograde.runner import OUTPUT_DROPPED, KernelRunner
from kit.outputs import MAX_MESSAGE_BYTES
from kit.problems import ProblemKind

OVERSIZE = f'''
import sys
def chatty():
    sys.stdout.write("y" * {MAX_MESSAGE_BYTES + (8 << 20)})
    sys.stdout.flush()
    return 7
'''


def run_cells(sources, infos, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    runner = KernelRunner(
        make_kernel_manager=lambda: AsyncKernelManager(kernel_name="python3",
                                                       client_class="kit.outputs.BoundedKernelClient"),
        workdir=tmp_path, env={}, cell_timeout=60, time_limit_note="time is up", hangs=Hangs())
    problems = asyncio.run(runner.run(nb, list(range(len(sources))), time.monotonic() + 300,
                                      max_restarts=len(sources), info=lambda i: infos.get(i, CellInfo())))
    return nb, dict(problems)


def text(cell):
    return "".join(o.get("text", "") + str(o.get("evalue", "")) for o in cell.outputs)


def test_cells_after_an_oversized_message_keep_their_outputs(tmp_path):
    sources = [OVERSIZE, "chatty()", "print('after', 6 * 7)"]
    nb, problems = run_cells(sources, {}, tmp_path)
    assert problems[1].kind is ProblemKind.RESOURCE_LIMIT and problems[1].message == OUTPUT_DROPPED
    assert "over 32 MiB" in text(nb.cells[1])
    assert "after 42" in text(nb.cells[2]), nb.cells[2].outputs
    assert 2 not in problems


def test_a_test_cell_whose_function_floods_spares_the_cells_that_call_it(tmp_path):
    sources = [OVERSIZE, "chatty()", "chatty()", "print('other work')"]
    infos = {1: CellInfo(key="test_chatty", uses=frozenset({"chatty"}), blames=frozenset({"chatty"})),
             2: CellInfo(uses=frozenset({"chatty"}))}
    nb, problems = run_cells(sources, infos, tmp_path)
    assert problems[1].kind is ProblemKind.RESOURCE_LIMIT
    assert problems[2].kind is ProblemKind.NOT_RUN
    assert "chatty sent an output message over 32 MiB (in test_chatty)" in problems[2].message
    assert "other work" in text(nb.cells[3])


def test_without_cgroups_the_kernel_is_stopped_at_once(tmp_path, monkeypatch):
    """Where the machine gives the sandbox no cgroups, the kernel whose output connection
    dropped is still stopped when that is found, not left to run to the end of its cell:
    the launch's bwrap is killed, and its sandbox with it. Before, killing it did nothing
    without cgroups; the kernel (here asleep for 30 s after the flood) ran on, and was
    replaced only when its cell ended."""
    from kit import sandbox
    from kit.autograde import runner as runner_module
    ok, why = sandbox.isolation_status()
    if not ok:
        pytest.skip(f"no working sandbox here: {why}")
    stopped = []
    stop_kernel = runner_module.stop_kernel

    async def stop_and_watch(km):
        await stop_kernel(km)
        for _ in range(50):   # the kill is asynchronous: give it a moment, far less than 30 s
            if not await km.is_alive():
                break
            await asyncio.sleep(0.1)
        stopped.append(not await km.is_alive())

    monkeypatch.setattr(runner_module, "stop_kernel", stop_and_watch)
    flood_then_sleep = OVERSIZE.replace("    return 7", "    import time; time.sleep(30)\n    return 7")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s)
                                         for s in (flood_then_sleep, "chatty()", "print('after', 6 * 7)")])
    runner = KernelRunner(
        make_kernel_manager=lambda: sandbox.kernel_manager(
            workdir=tmp_path, use_cgroups=False, client_class="kit.outputs.BoundedKernelClient"),
        workdir=tmp_path, env={}, cell_timeout=60, time_limit_note="time is up", hangs=Hangs())
    problems = dict(asyncio.run(runner.run(nb, [0, 1, 2], time.monotonic() + 300, max_restarts=3,
                                           info=lambda i: CellInfo())))
    assert problems[1].message == OUTPUT_DROPPED, problems
    assert stopped == [True], "the kernel ran on after its output connection dropped"
    assert "after 42" in text(nb.cells[2]), nb.cells[2].outputs
