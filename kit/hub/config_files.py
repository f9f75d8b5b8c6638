"""The files `python -m kit hub` writes in the hub's folder (`render`): jupyterhub_config.py
and the students' and graders' Jupyter and nbgrader configuration, from the templates here."""
import json
import shutil

from ..course import KIT_ROOT
from .plan import GRADERS_GROUP, PROXY, STUDENTS_GROUP

# The nbgrader front-end parts a student's JupyterLab leaves out (formgrader and Create
# Assignment act on the folder they run in: of no use, and confusing, to a student).
STUDENT_DISABLED_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                        "@jupyter/nbgrader:course-list")
STUDENT_DISABLED_SERVER = ("nbgrader.server_extensions.formgrader",
                           "nbgrader.server_extensions.course_list")
GRADER_DISABLED_SERVER = ("jupyterlab", "notebook", "notebook_shim", "jupyter_lsp", "jupyter_server_terminals",
                          "nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.course_list",
                          "nbgrader.server_extensions.validate_assignment")


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

