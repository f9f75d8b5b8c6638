"""The environment variables of a sandboxed kernel (bubblewrap starts it with --clearenv).

Inputs: the workdir (HOME), the private temporary folder, the host variables to pass
through, the env given to start_kernel (nbclient's async_setup_kernel(env=...)) and the
manager's extra_env.
Returns: kernel_env(), the kernel's whole environment; nothing else of the host's comes in.
"""
import os
import re
import sys

# Host variables forwarded when set: the numeric libraries' thread counts. An
# assignment's own settings (e.g. the data folder) are the grader's to pass.
DEFAULT_ENV_PASSTHROUGH = (
    "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
# Never forwarded, even from an explicit env: they would change what code runs.
ENV_BLOCKLIST = re.compile(
    r"^(LD_|PYTHON(?!DONTWRITEBYTECODE$|UNBUFFERED$|HASHSEED$)|BASH_ENV$|ENV$)")


def kernel_env(*, workdir, tmp, passthrough, given, extra):
    """The kernel's environment.

    Inputs:
    - workdir: HOME; tmp: TMPDIR, under which the caches of matplotlib, IPython and XDG go
      (no dot-folders land in the submission).
    - passthrough: host variable names copied when set.
    - given: the env passed to start_kernel, or None; one equal to os.environ (what
      jupyter_client passes when the caller gave none) is ignored, and blocked names
      (LD_*, most PYTHON*) are dropped.
    - extra: variables always set.
    Returns a dict of str to str.
    """
    python_bin = os.path.dirname(os.path.realpath(sys.executable))
    env = {"PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
           "LANG": os.environ.get("LANG", "C.UTF-8")}
    env.update({name: os.environ[name] for name in passthrough if name in os.environ})
    if given is not None and dict(given) != dict(os.environ):
        env.update({key: str(value) for key, value in given.items() if not ENV_BLOCKLIST.match(key)})
    env.update({str(k): str(v) for k, v in extra.items()})
    env.update({"HOME": workdir, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
                "TMPDIR": tmp, "MPLCONFIGDIR": tmp + "/.config/matplotlib",
                "IPYTHONDIR": tmp + "/.ipython", "XDG_CACHE_HOME": tmp + "/.cache",
                "XDG_CONFIG_HOME": tmp + "/.config"})
    # The kernel's parent is the sandbox's pid 1 (bwrap); "1" also stops ipykernel from
    # printing its stand-alone banner on the grader's terminal.
    env["JPY_PARENT_PID"] = "1"
    return env
