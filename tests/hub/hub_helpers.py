"""A real course on a real JupyterHub for the tests: OS users, a copy of the kit only the
grader account can read, a released course, the hub started by `python -m kit hub`.

Test users are made once with `useradd` and reused (their home folders emptied for each
run); everything else lives in one temporary folder, removed at the end. Needs root,
useradd, the hub's environment (`python -m kit hub-env /opt/kit-hub-env`, as .ci/run
does; elsewhere KIT_HUB_PYTHON names its Python), configurable-http-proxy and bubblewrap:
without any of them the tests skip, printing why.
"""
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HUB_PYTHON = Path(os.environ.get("KIT_HUB_PYTHON", "/opt/kit-hub-env/bin/python"))
PREFIX = "kithub-"
GRADER = PREFIX + "grader"
INSTRUCTOR = PREFIX + "prof"
TA = PREFIX + "ta"
ALICE = PREFIX + "alice"
BOB = PREFIX + "bob"
STUDENTS = (ALICE, BOB)
USERS = (GRADER, INSTRUCTOR, TA, ALICE, BOB)
# What of the repository the grader's copy of the kit needs (kit_root: release, grading).
KIT_PARTS = ("kit", "classifiers", "utils", "notebooks", "i18n", "student", "pyproject.toml")
START_TIMEOUT = 90
ASSIGNMENT = "linear_classifiers"


def skip_reason():
    if sys.platform != "linux":
        return "the hub tests need Linux"
    if os.geteuid() != 0:
        return "the hub tests need root (they make OS users and run JupyterHub's LocalProcessSpawner)"
    if not shutil.which("useradd"):
        return "the hub tests need useradd (Debian's passwd package)"
    if not HUB_PYTHON.is_file():
        return (f"no hub environment at {HUB_PYTHON}: `python -m kit hub-env /opt/kit-hub-env` "
                "(.ci/run does), or set KIT_HUB_PYTHON")
    if not shutil.which("configurable-http-proxy"):
        return "configurable-http-proxy not found: `npm install -g configurable-http-proxy` (.ci/run does)"
    if not shutil.which("bwrap"):
        return "bubblewrap not found: `apt-get install bubblewrap`"
    return None


def skip_unless_ready():
    import pytest
    reason = skip_reason()
    if reason:
        print(reason)
        pytest.skip(reason)


def ensure_user(name):
    """The OS user `name` (made if missing, reused otherwise), its home emptied, mode 0700."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "-K", "HOME_MODE=0700",
                        "--comment", "kit hub test user", name], check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    home = Path(entry.pw_dir)
    home.mkdir(exist_ok=True)
    for child in home.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o700)
    return entry


def as_user(name, command, **kw):
    """Run `command` (a list) as the OS user `name` with a clean login environment."""
    entry = pwd.getpwnam(name)
    env = {"HOME": entry.pw_dir, "USER": name, "LOGNAME": name, "PATH": f"{HUB_PYTHON.parent}:/usr/bin:/bin",
           "LANG": "C.UTF-8"}
    env.update(kw.pop("env", {}))
    return subprocess.run(command, user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                          env=env, cwd=kw.pop("cwd", None) or entry.pw_dir, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 120), **kw)


class Course:
    """A temporary hub course: root/kit (the kit, grader only), root/course, root/exchange,
    root/hub; made by `setup`, removed by `cleanup`."""

    def __init__(self, lang="en", tests_only=True):
        self.lang = lang
        self.tests_only = tests_only
        self.root = Path(tempfile.mkdtemp(prefix="kit-hub-", dir="/tmp"))
        os.chmod(self.root, 0o711)     # users may pass through, not list
        self.kit = self.root / "kit"
        self.course = self.root / "course"
        self.exchange = self.root / "exchange"
        self.hub_dir = self.root / "hub"
        self.password = secrets.token_urlsafe(12)
        self.port = None
        self.proc = None
        self.log_path = self.root / "hub.log"

    def setup(self, cifar10_dir):
        entries = {name: ensure_user(name) for name in USERS}
        grader = entries[GRADER]
        # The kit, readable by the grader account only (it holds the reference solutions).
        self.kit.mkdir()
        for part in KIT_PARTS:
            src = REPO / part
            if src.is_dir():
                shutil.copytree(src, self.kit / part, ignore=shutil.ignore_patterns(
                    "__pycache__", "*.pyc", ".ipynb_checkpoints"))
            else:
                shutil.copy2(src, self.kit / part)
        subprocess.run(["chown", "-R", f"root:{grader.pw_gid}", str(self.kit)], check=True)
        subprocess.run(["chmod", "-R", "g+rX,g-w,o-rwx", str(self.kit)], check=True)
        # The course's copy of CIFAR-10, readable by every user wherever the tests' copy lives
        # (a CI clone may sit in a folder other users cannot enter).
        data = self.root / "data" / "cifar-10-batches-py"
        shutil.copytree(cifar10_dir, data)
        subprocess.run(["chmod", "-R", "a+rX,go-w", str(self.root / "data")], check=True)
        # The course, released by the kit's command, then given to the grader account.
        proc = subprocess.run([str(HUB_PYTHON), "-m", "kit", "release", "--lang", self.lang,
                               "--course", str(self.course), "--dist", str(self.root / "dist")],
                              cwd=self.kit, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": str(self.kit)})
        assert proc.returncode == 0, "kit release failed:\n" + proc.stdout + proc.stderr
        with open(self.course / "nbgrader_config.py", "a") as config:
            config.write(f"\nc.KitGrading.data_dir = {str(data)!r}\n")
            if self.tests_only:
                config.write("c.KitGrading.tests_only = True\nc.KitGrading.reference_limits = False\n")
        subprocess.run(["chown", "-R", f"{GRADER}:{GRADER}", str(self.course)], check=True)
        os.chmod(self.course, 0o700)
        password_file = self.root / "password"
        password_file.write_text(self.password)
        os.chmod(password_file, 0o600)
        return password_file

    def hub_command(self, password_file, port, extra=()):
        return [str(HUB_PYTHON), "-m", "kit", "hub", "--course", str(self.course),
                "--instructors", INSTRUCTOR, "--graders", TA, "--students", ",".join(STUDENTS),
                "--hub-dir", str(self.hub_dir), "--exchange", str(self.exchange),
                "--python", str(HUB_PYTHON), "--port", str(port), "--auth", "shared",
                "--password-file", str(password_file), "--data", str(self.root / "data" / "cifar-10-batches-py"),
                *extra]

    def start(self, password_file):
        from browser_helpers import free_port, wait_until
        self.port = free_port()
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.hub_command(password_file, self.port), cwd=self.kit,
                                     env={**os.environ, "PYTHONPATH": str(self.kit)},
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until(self._answers, START_TIMEOUT, "the hub to answer on port %d" % self.port, interval=0.3)
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError("kit hub exited with code %s; its log:\n%s"
                               % (self.proc.returncode, self.log_path.read_text()))
        try:
            urllib.request.urlopen(self.url("hub/api"), timeout=2).read()
        except (OSError, urllib.error.URLError):
            return False
        return True

    def url(self, path=""):
        return "http://127.0.0.1:%d/%s" % (self.port, path)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)   # the hub ends its servers and its proxy
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        # The proxy runs in its own session; a hub that died may have left it.
        pid_file = self.hub_dir / "private" / "jupyterhub-proxy.pid"
        if pid_file.is_file():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (ValueError, OSError):
                pass
        # The hub stops the servers it spawned as it shuts down; anything of the test users'
        # still running (a kernel whose server died) was started by this test: end it by id.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = self.leftover_pids()
            for pid in left:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            if left:
                time.sleep(1)
        if getattr(self, "_log", None):
            self._log.close()

    @staticmethod
    def leftover_pids():
        uids = {pwd.getpwnam(name).pw_uid for name in USERS}
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid in uids:
                        pids.append(int(entry.name))
                except OSError:
                    pass
        return pids

    def cleanup(self, keep_log_in=None):
        self.stop()
        if keep_log_in is not None and self.log_path.exists():
            keep_log_in.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.log_path, keep_log_in / "hub.log")
        shutil.rmtree(self.root, ignore_errors=True)


class HubSession:
    """A logged-in user of the hub over HTTP (cookies kept), for checks without a browser."""

    def __init__(self, course, name):
        self.course, self.name = course, name
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def login(self):
        page = self.opener.open(self.course.url("hub/login"), timeout=30).read().decode()
        xsrf = next((c.value for c in self.jar if c.name == "_xsrf"), "")
        data = urllib.parse.urlencode({"username": self.name, "password": self.course.password,
                                       "_xsrf": xsrf}).encode()
        response = self.opener.open(self.course.url("hub/login?next="), data=data, timeout=120)
        assert "login" not in response.geturl().rsplit("/", 1)[-1] or "Invalid" not in page
        return self

    def get(self, path, timeout=60):
        """(status, final url, body) of a GET; HTTP errors are returned, not raised."""
        try:
            response = self.opener.open(self.course.url(path), timeout=timeout)
            return response.status, response.geturl(), response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.geturl(), err.read().decode("utf-8", "replace")

    def token(self):
        """An API token of this user (the hub's API, with the login cookie)."""
        xsrf = next((c.value for c in self.jar if c.name == "_xsrf"), "")
        request = urllib.request.Request(self.course.url(f"hub/api/users/{self.name}/tokens"),
                                         data=json.dumps({"note": "test"}).encode(), method="POST",
                                         headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"})
        return json.loads(self.opener.open(request, timeout=30).read())["token"]


# --- nbgrader's own commands as the hub's users ---------------------------------------------

def course_id(hub):
    return "linear_classifiers_course"


def nbgrader_as(hub, user, *args, graders=False):
    env = {"JUPYTER_CONFIG_PATH": str(hub.hub_dir / ("graders" if graders else "students"))}
    if graders:
        env["PYTHONPATH"] = str(hub.kit)
    return as_user(user, [str(HUB_PYTHON), "-m", "nbgrader", *args], env=env,
                   cwd=str(hub.course) if graders else None, timeout=180)


def ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def submit(hub, student, *extra):
    return nbgrader_as(hub, student, "submit", ASSIGNMENT, *extra)
