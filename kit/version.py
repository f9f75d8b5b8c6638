"""The kit's version, as installed (every command's `--version`)."""
from importlib import metadata

DISTRIBUTION = "linear-classifiers-kit"


def version():
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed: python -m pip install -r requirements.txt)"
