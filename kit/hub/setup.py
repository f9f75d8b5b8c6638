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
import os
import socket
import sys
from pathlib import Path

from ..course import Course
from .access import Account
from .checks import check
from .config_files import render
from .plan import DEFAULT_EXCHANGE, DEFAULT_HUB_DIR, DEFAULT_PORT, HubPlan, HubProblem

# The plan's record, its checks and its files live in plan.py, checks.py and config_files.py;
# their public names are importable from here too.
__all__ = ["DEFAULT_EXCHANGE", "DEFAULT_HUB_DIR", "DEFAULT_PORT", "HubPlan", "HubProblem", "check",
           "render", "names", "free_port", "make_plan", "write", "describe", "run"]


def names(text):
    """A comma- or space-separated list of user names."""
    return [n for n in str(text or "").replace(",", " ").split() if n]


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
    course_id = Course(course).course_id
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
