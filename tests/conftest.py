"""Shared test setup: import paths, a headless matplotlib, the real CIFAR-10 subset."""

import os
import sys

import matplotlib
import pytest

matplotlib.use("Agg")  # no display in CI

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


@pytest.fixture(scope="session")
def cifar10_dir():
    """The real CIFAR-10 subset: env CIFAR10_DIR, else ../shared/data/cifar10-subset."""
    folder = os.environ.get("CIFAR10_DIR") or os.path.join(
        REPO_ROOT, os.pardir, "shared", "data", "cifar10-subset", "cifar-10-batches-py")
    folder = os.path.abspath(folder)
    if not os.path.isfile(os.path.join(folder, "data_batch_1")):
        reason = "real CIFAR-10 subset not found in %s (set CIFAR10_DIR)" % folder
        print(reason)
        pytest.skip(reason)
    return folder
