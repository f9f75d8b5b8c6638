"""`python -m kit hub`: one course on a JupyterHub on this machine.

What it sets up (nothing outside the hub's folder, the course and its exchange changes):

- **the hub's folder** (`--hub-dir`, root's, 0755): `jupyterhub_config.py`, and in
  `private/` (0700) the hub's database, cookie secret and, with `--auth shared`, the shared
  password; `students/` and `graders/`: the Jupyter and nbgrader configuration the
  students' servers and the graders' formgrader read (through `JUPYTER_CONFIG_PATH`);
- **the exchange** (`--exchange`): its root world-writable as nbgrader requires, with the
  sticky bit (nobody removes or renames another's folder); the course's folder made at
  once, owned by the grader account (so no student can take its name first), with `outbound` (0755), `inbound` (3733: anyone may drop a submission, nobody
  may list, rename or delete another's) and `feedback` (0711: files found only by their
  hash, which only the submitting student can work out);
- **formgrader as a hub service** named after the course id, running as the grader
  account (the owner of the course folder, never root) in the course folder with the
  course's own nbgrader_config.py: the kit's sandboxed grading and sanitized rendering.
  Only the hub group `formgrade-<course id>` (the instructors and graders) may open it;
- **the students' servers** (`LocalProcessSpawner`: each user's server runs as that OS
  user, as nbgrader's exchange needs) with the Assignments tab, the course id and the
  exchange set, and without formgrader or Create Assignment.

Every check runs before anything is written; each problem found is listed with how to fix
it (`HubProblem`), and the command then exits 3 having changed nothing.
"""
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..course import KIT_ROOT, KitError, coursedir, release_dir
from .access import Account, first_blocker, reachable

DEFAULT_HUB_DIR = Path("/srv/kit-hub")
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")
DEFAULT_PORT = 8000
GRADERS_GROUP = "formgrade-{course_id}"
STUDENTS_GROUP = "nbgrader-{course_id}"
# The nbgrader front-end parts a student's JupyterLab leaves out (formgrader and Create
# Assignment act on the folder they run in: of no use, and confusing, to a student).
STUDENT_DISABLED_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                        "@jupyter/nbgrader:course-list")
STUDENT_DISABLED_SERVER = ("nbgrader.server_extensions.formgrader",
                           "nbgrader.server_extensions.course_list")
GRADER_DISABLED_SERVER = ("jupyterlab", "notebook", "notebook_shim", "jupyter_lsp", "jupyter_server_terminals",
                          "nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.course_list",
                          "nbgrader.server_extensions.validate_assignment")
PROXY = "configurable-http-proxy"


class HubProblem(KitError):
    """Problems found before anything was changed; the message lists each with its fix."""


@dataclass
class HubPlan:
    course: Path
    course_id: str
    hub_dir: Path
    exchange: Path
    python: Path
    grader_account: str
    instructors: list
    graders: list
    students: list
    ip: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    service_port: int = 0
    hub_port: int = 0
    proxy_api_port: int = 0
    auth: str = "pam"
    password_file: Path = None
    data: Path = None          # CIFAR-10 for the students' servers (their CIFAR10_DIR)
    problems: list = field(default_factory=list)

    @property
    def staff(self):
        return sorted(set(self.instructors) | set(self.graders))

    @property
    def users(self):
        return sorted(set(self.staff) | set(self.students))

    @property
    def config_path(self):
        return self.hub_dir / "jupyterhub_config.py"

    @property
    def private(self):
        return self.hub_dir / "private"

    @property
    def students_dir(self):
        return self.hub_dir / "students"

    @property
    def graders_dir(self):
        return self.hub_dir / "graders"

    @property
    def service_url(self):
        return "http://127.0.0.1:%d" % self.service_port

    @property
    def env_bin(self):
        return self.python.parent


def names(text):
    """A comma- or space-separated list of user names."""
    return [n for n in str(text or "").replace(",", " ").split() if n]


def python_of(path):
    """(sys.prefix, sys.base_prefix, site-packages, has jupyterhub) of another Python."""
    code = ("import json, sys, sysconfig, importlib.util as u; print(json.dumps([sys.prefix, "
            "sys.base_prefix, sysconfig.get_paths()['purelib'], bool(u.find_spec('jupyterhub')), "
            "bool(u.find_spec('nbgrader'))]))")
    try:
        proc = subprocess.run([str(path), "-I", "-c", code], capture_output=True, text=True, timeout=60)
    except OSError as err:
        return None, str(err)
    if proc.returncode != 0:
        return None, (proc.stderr.strip().splitlines() or ["exit code %d" % proc.returncode])[-1]
    return json.loads(proc.stdout), None


def check(plan):
    """Every problem that stops the hub, each with its fix (plan.problems); nothing changes."""
    p = plan.problems
    course = plan.course
    if not (course / "nbgrader_config.py").is_file():
        p.append(f"{course} is not a released course (no nbgrader_config.py): run "
                 f"`python -m kit release --course {course}` first")
    elif not release_dir(course).is_dir():
        p.append(f"{course} has no release: run `python -m kit release --course {course}` first")
    if not plan.instructors:
        p.append("no instructor named: give --instructors NAME[,NAME...] (OS user names)")
    if not plan.students:
        p.append("no student named: give --students NAME[,NAME...] (OS user names)")
    for name in plan.users:
        if "+" in name or name != name.strip() or not name:
            p.append(f"{name!r} cannot be an nbgrader student id (no '+' or spaces): rename the user")
    # The proxy and the sandbox.
    if not shutil.which(PROXY, path=os.pathsep.join([str(plan.env_bin), os.environ.get("PATH", "")])):
        p.append(f"{PROXY} (the hub's proxy, from npm) not found on PATH: "
                 f"`apt-get install npm && npm install -g {PROXY}`")
    if not shutil.which("bwrap"):
        p.append("bubblewrap (bwrap) not found: formgrader's grading would refuse to run student code; "
                 "`apt-get install bubblewrap`")
    # The environment every server runs in.
    info, why = python_of(plan.python)
    if info is None:
        p.append(f"{plan.python} does not run as Python ({why}): give --python the Python of an "
                 "environment made by `python -m kit hub-env DIR`")
        info = None
    else:
        prefix, base, purelib, has_hub, has_nbgrader = info
        if not has_hub or not has_nbgrader:
            p.append(f"{plan.python} has no {'jupyterhub' if not has_hub else 'nbgrader'}: make the "
                     "hub's environment with `python -m kit hub-env DIR` and pass --python DIR/bin/python")
    # The accounts.
    accounts = {}
    for name in plan.users + [plan.grader_account]:
        account = Account.find(name)
        if account is None:
            p.append(f"no OS user {name!r}: `useradd --create-home -K HOME_MODE=0700 {name}`"
                     + (" (and give it a password: `passwd " + name + "`)" if plan.auth == "pam"
                        and name != plan.grader_account else ""))
        else:
            accounts[name] = account
    grader = accounts.get(plan.grader_account)
    if grader is not None and grader.uid == 0:
        p.append(f"formgrader would run as root ({plan.grader_account}), so every grader could run "
                 "anything as root: give the course to a grader account, e.g. `useradd --create-home "
                 f"grader-{plan.course_id} && chown -R grader-{plan.course_id} {course}`")
    elif grader is not None:
        if not reachable(course, grader, 7) or not reachable(course / "nbgrader_config.py", grader, 6):
            p.append(f"the grader account {grader.name} cannot write the course {course}: "
                     f"`chown -R {grader.name} {course}`")
        for what in (KIT_ROOT / "kit" / "__init__.py",):
            if not reachable(what, grader, 4):
                p.append(f"the grader account {grader.name} cannot read the kit ({KIT_ROOT}, stopped "
                         f"at {first_blocker(what, grader)}): make it readable by {grader.name}, "
                         "e.g. its group")
        if info is not None and not reachable(plan.python, grader, 5):
            p.append(f"the grader account {grader.name} cannot run {plan.python} "
                     f"(stopped at {first_blocker(plan.python, grader, 5)})")
    # Students: the environment readable; the course, the kit and each other's homes not.
    for name in plan.students:
        account = accounts.get(name)
        if account is None:
            continue
        if info is not None:
            for need in (plan.python, Path(info[2])):
                want = 5 if need == plan.python else 5
                if not reachable(need, account, want):
                    p.append(f"student {name} cannot use the hub's Python environment ({need}, stopped "
                             f"at {first_blocker(need, account, want)}): make the environment with "
                             "`python -m kit hub-env DIR` in a folder every user can read (e.g. /opt), "
                             "not under /root")
                    break
        for secret, what in ((course, "the course (solutions, hidden tests, everyone's grades)"),
                             (KIT_ROOT / "classifiers", "the kit's reference solutions")):
            if reachable(secret, account, 4) or reachable(secret, account, 1):
                p.append(f"student {name} can open {what} at {secret}: `chmod o-rwx "
                         f"{course if secret == course else KIT_ROOT}` (and keep it so)")
        home = Path(account.home)
        if home.is_dir() and os.stat(home).st_mode & 0o077:
            p.append(f"the home folder of student {name} ({home}) is open to other users (their "
                     f"submission copies and feedback live there): `chmod 700 {home}`")
    for name in plan.staff:
        account = accounts.get(name)
        if account is not None and info is not None and not reachable(plan.python, account, 5):
            p.append(f"{name} cannot run {plan.python} (stopped at {first_blocker(plan.python, account, 5)})")
    # The hub's own folder and the exchange: nobody but root may change the first.
    for folder in [plan.hub_dir, *plan.hub_dir.parents]:
        if folder.exists():
            st = os.stat(folder)
            if st.st_uid != 0 or st.st_mode & 0o022 and not (st.st_mode & stat.S_ISVTX and folder != plan.hub_dir):
                p.append(f"{folder} (holding the hub's folder {plan.hub_dir}) can be changed by a user "
                         "other than root, who could then change the hub's configuration: choose a "
                         "--hub-dir in folders only root can write")
                break
    if plan.data is not None:
        if not (plan.data / "data_batch_1").is_file():
            p.append(f"--data {plan.data} holds no CIFAR-10 (no data_batch_1): give the folder "
                     "cifar-10-batches-py (`python -m utils.download_cifar10` makes one)")
        else:
            for name in plan.students:
                account = accounts.get(name)
                if account is not None and not reachable(plan.data / "data_batch_1", account, 4):
                    p.append(f"student {name} cannot read CIFAR-10 in {plan.data} (stopped at "
                             f"{first_blocker(plan.data / 'data_batch_1', account)}): make it readable "
                             "by every user (`chmod -R a+rX` on it), or give --data another copy")
                    break
    if plan.exchange.exists() and not plan.exchange.is_dir():
        p.append(f"the exchange {plan.exchange} is not a folder: give --exchange a folder")
    if plan.auth == "shared" and (plan.password_file is None or not Path(plan.password_file).is_file()):
        p.append("--auth shared needs --password-file FILE holding the shared password (8 characters "
                 "or more)")
    if plan.auth == "shared" and plan.password_file and Path(plan.password_file).is_file():
        if len(Path(plan.password_file).read_text().strip()) < 8:
            p.append(f"the password in {plan.password_file} is shorter than 8 characters")
    return plan.problems


JUPYTERHUB_CONFIG = '''\
# A course on JupyterHub, written by `python -m kit hub` ({kit_root}).
# Run it (as root: each user's server runs as that OS user) with
#     {python} -m jupyterhub -f {config_path}
# `python -m kit hub --course ...` rewrites this file; change the command's options
# rather than this file (or copy it elsewhere and own it).
import os
c = get_config()
course_id = {course_id!r}
course = {course!r}
python = {python!r}
env_bin = os.path.dirname(python)
path = env_bin + ":/usr/local/bin:/usr/bin:/bin"

c.JupyterHub.ip = {ip!r}
c.JupyterHub.port = {port!r}
# The hub's own API and the proxy's, on ports free when `kit hub` wrote this file.
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port!r}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.JupyterHub.db_url = "sqlite:///" + {private!r} + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {private!r} + "/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = {private!r} + "/jupyterhub.pid"
c.ConfigurableHTTPProxy.pid_file = {private!r} + "/jupyterhub-proxy.pid"
c.ConfigurableHTTPProxy.command = [{proxy!r}]

# Who may log in: the course's instructors, graders and students (OS users).
{auth}
c.Authenticator.allowed_users = {users!r}
c.Authenticator.admin_users = set()   # nobody may enter another user's server

# Each user's server runs as that OS user (nbgrader's exchange knows students by their
# OS user), from the hub's environment, reading the students' configuration.
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [python, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {{
    "JUPYTER_CONFIG_PATH": {students_dir!r},
    "PATH": path,{data_env}
}}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# Formgrader as a hub service, running as the grader account in the course folder: the
# course's nbgrader_config.py (the kit's sandboxed grading and sanitized rendering) and the
# graders' (the exchange and the kit's exchange classes).
c.JupyterHub.services = [{{
    "name": course_id,
    "url": {service_url!r},
    "command": [python, "-m", "jupyterhub.singleuser", "--ServerApp.root_dir=" + course,
                "--ServerApp.terminals_enabled=False"],
    "user": {grader_account!r},
    "cwd": course,
    "environment": {{
        "JUPYTER_CONFIG_PATH": {graders_dir!r},
        "JUPYTERHUB_DEFAULT_URL": "/formgrader",
        "PATH": path,
        "PYTHONPATH": {kit_root!r},   # the kit, from its repository (only graders may read it)
    }},
    "oauth_no_confirm": True,
}}]
c.JupyterHub.load_groups = {{
    {graders_group!r}: {{"users": {staff!r}}},
    {students_group!r}: {{"users": {students!r}}},
}}
c.JupyterHub.load_roles = [{{
    "name": {graders_group!r},
    "groups": [{graders_group!r}],
    "scopes": ["access:services!service=" + course_id, "list:services", "read:services"],
}}]
'''

SHARED_AUTH = '''\
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = open({password_file!r}).read().strip()'''
PAM_AUTH = '''\
c.JupyterHub.authenticator_class = "pam"   # the OS users' own passwords'''

STUDENT_NBGRADER = '''\
# The students' nbgrader configuration, written by `python -m kit hub`.
c = get_config()
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
'''

GRADER_NBGRADER = '''\
# The graders' nbgrader configuration (formgrader's service), written by `python -m kit hub`;
# the course's own nbgrader_config.py (its folder is the service's) adds the kit's grading.
c = get_config()
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
# Collect: submissions forged for another student or holding links are refused; the time
# a submission arrived is the exchange's, not the student's client's (kit/hub/exchange.py).
c.ExchangeFactory.collect = "kit.hub.exchange.KitCollect"
# Release: refused while the release holds a solution line or hidden test (formgrader's
# Generate copies classifiers/*.py with their solutions; `python -m kit release` cuts them).
c.ExchangeFactory.release_assignment = "kit.hub.exchange.KitReleaseAssignment"
'''


def render(plan):
    """{path: (text, mode)} of every file `kit hub` writes in the hub's folder."""
    auth = (SHARED_AUTH.format(password_file=str(plan.private / "shared-password"))
            if plan.auth == "shared" else PAM_AUTH)
    hub = JUPYTERHUB_CONFIG.format(
        kit_root=str(KIT_ROOT), python=str(plan.python), config_path=str(plan.config_path),
        course_id=plan.course_id, course=str(plan.course), ip=plan.ip, port=plan.port,
        private=str(plan.private), proxy=shutil.which(PROXY) or PROXY, auth=auth,
        users=set(plan.users), students_dir=str(plan.students_dir), graders_dir=str(plan.graders_dir),
        service_url=plan.service_url, hub_port=plan.hub_port, proxy_api_port=plan.proxy_api_port, grader_account=plan.grader_account,
        graders_group=GRADERS_GROUP.format(course_id=plan.course_id),
        students_group=STUDENTS_GROUP.format(course_id=plan.course_id),
        staff=plan.staff, students=sorted(plan.students),
        data_env=("\n    \"CIFAR10_DIR\": %r,   # the course's copy of CIFAR-10, read-only for students"
                  % str(plan.data)) if plan.data else "")
    server = {"ServerApp": {"jpserver_extensions": {name: False for name in STUDENT_DISABLED_SERVER}}}
    page = {"disabledExtensions": {name: True for name in STUDENT_DISABLED_LAB}}
    # Formgrader's service serves formgrader only: no JupyterLab, terminal or notebook
    # pages, so a grader gets no shell as the grader account, and the service is up within
    # the ten seconds the hub waits for it (JupyterHub exits otherwise).
    grader_server = {"ServerApp": {"terminals_enabled": False,
                                   "jpserver_extensions": {name: False for name in GRADER_DISABLED_SERVER}}}
    return {
        plan.config_path: (hub, 0o600),
        plan.students_dir / "nbgrader_config.py": (
            STUDENT_NBGRADER.format(course_id=plan.course_id, exchange=str(plan.exchange)), 0o644),
        plan.students_dir / "jupyter_server_config.json": (json.dumps(server, indent=2) + "\n", 0o644),
        plan.students_dir / "labconfig" / "page_config.json": (json.dumps(page, indent=2) + "\n", 0o644),
        plan.graders_dir / "nbgrader_config.py": (
            GRADER_NBGRADER.format(course_id=plan.course_id, exchange=str(plan.exchange)), 0o644),
        plan.graders_dir / "jupyter_server_config.json": (json.dumps(grader_server, indent=2) + "\n", 0o644),
    }


def free_port(ip="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def make_plan(*, course, instructors, students, graders=(), hub_dir=None, exchange=DEFAULT_EXCHANGE,
              python=None, grader_account=None, ip="127.0.0.1", port=DEFAULT_PORT, service_port=0,
              auth="pam", password_file=None, data=None):
    course = Path(course).resolve()
    if not course.is_dir():
        raise HubProblem(f"no course folder at {course}: run `python -m kit release --course {course}` "
                         "first, or give --course the course's folder")
    course_id = coursedir(course).course_id
    if grader_account is None:
        import pwd
        try:
            grader_account = pwd.getpwuid(os.stat(course).st_uid).pw_name
        except KeyError:
            grader_account = str(os.stat(course).st_uid)
    plan = HubPlan(
        course=course, course_id=course_id,
        hub_dir=Path(hub_dir).absolute() if hub_dir else DEFAULT_HUB_DIR / course_id,
        exchange=Path(exchange).absolute(), python=Path(python or sys.executable).absolute(),
        grader_account=grader_account, instructors=names(instructors), graders=names(graders),
        students=names(students), ip=ip, port=port,
        service_port=service_port or free_port(), hub_port=free_port(), proxy_api_port=free_port(),
        auth=auth,
        password_file=Path(password_file) if password_file else None,
        data=Path(data).absolute() if data else None)
    return plan


def write(plan):
    """Make the hub's folder and the course's exchange; write the configuration."""
    grader = Account.find(plan.grader_account)
    plan.hub_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(plan.hub_dir, 0o755)
    plan.private.mkdir(exist_ok=True)
    os.chmod(plan.private, 0o700)
    if plan.auth == "shared":
        target = plan.private / "shared-password"
        target.write_text(Path(plan.password_file).read_text().strip() + "\n")
        os.chmod(target, 0o600)
    for path, (text, mode) in render(plan).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o755)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text)
        os.chmod(partial, mode)
        partial.replace(path)
    # The exchange: the root world-writable as nbgrader requires, sticky so that nobody
    # removes or renames another's folder; the course's folder made now, the graders'.
    plan.exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(plan.exchange, 0o1777)
    course_root = plan.exchange / plan.course_id
    for folder, mode in ((course_root, 0o755), (course_root / "outbound", 0o755),
                         (course_root / "inbound", 0o3733), (course_root / "feedback", 0o711)):
        folder.mkdir(exist_ok=True)
        os.chown(folder, grader.uid, -1)
        os.chmod(folder, mode)   # chown clears set-id bits: the mode comes after


def describe(plan):
    base = "http://%s:%d" % (plan.ip if plan.ip not in ("", "0.0.0.0") else "127.0.0.1", plan.port)
    return "\n".join([
        f"Course {plan.course_id} on JupyterHub: {base}/hub/login",
        f"  configuration: {plan.config_path}",
        f"  formgrader (as {plan.grader_account}, for {', '.join(plan.staff)}): "
        f"{base}/services/{plan.course_id}/formgrader",
        f"  students ({', '.join(plan.students)}): Assignments tab in JupyterLab, {base}/user/NAME/lab",
        f"  exchange: {plan.exchange}/{plan.course_id}",
        f"  CIFAR-10 for students: {plan.data}" if plan.data else
        "  CIFAR-10 for students: none given (--data): each student downloads it into their folder",
        f"  start it (as root): {plan.python} -m jupyterhub -f {plan.config_path}",
    ])


def run(*, start=True, **options):
    """Check, write, and (unless start=False) run the hub in the foreground."""
    plan = make_plan(**options)
    if start and os.geteuid() != 0:
        plan.problems.append("the hub must run as root (each user's server runs as that OS user): "
                             "run `kit hub` as root, or with --config-only to write the files only")
    if os.geteuid() != 0:
        plan.problems.append("writing the hub's folder and the exchange needs root (they must be "
                             "root's and the grader account's): run `kit hub` as root")
    check(plan)
    if plan.problems:
        raise HubProblem("the hub was not set up, nothing changed:\n" +
                         "\n".join("  - " + problem for problem in plan.problems))
    write(plan)
    print(describe(plan), flush=True)
    if not start:
        return plan
    os.chdir(plan.private)
    os.execv(str(plan.python), [str(plan.python), "-m", "jupyterhub", "-f", str(plan.config_path)])
