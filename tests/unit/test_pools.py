"""kit.pools: workers forked from a server that imported the grader once, yet each pool's
workers run with this process's environment and import path as they are when the pool is
made (as spawned workers would), not as they were when the server started."""
import os
import sys

from kit.pools import process_pool


def worker_view(name):
    return os.environ.get(name), sys.path[0], sys.modules.get("kit.autograde.executors") is not None


def test_a_later_pool_sees_the_environment_and_path_of_its_making(monkeypatch, tmp_path):
    with process_pool(1, preload=["kit.autograde.executors"]) as pool:
        first = pool.submit(worker_view, "KIT_POOL_PROBE").result()
    assert first[0] is None and first[2], first   # the server had imported the grader
    monkeypatch.setenv("KIT_POOL_PROBE", "set after the server started")
    monkeypatch.syspath_prepend(str(tmp_path))
    with process_pool(2, preload=["kit.autograde.executors"]) as pool:
        later = set(pool.map(worker_view, ["KIT_POOL_PROBE"] * 4))
    assert later == {("set after the server started", str(tmp_path), True)}
