"""Every check `python -m kit hub` runs before it writes anything (`check`): the course and
its release, the proxy and bubblewrap, the hub's Python environment, the OS accounts and
what each may read, the hub's folder, CIFAR-10, the exchange and the shared password."""
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from ..course import KIT_ROOT, Course
from .access import Account, first_blocker, reachable
from .plan import PROXY


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
    elif not Course(course).release.is_dir():
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

