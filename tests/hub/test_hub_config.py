"""`python -m kit hub`: the configuration it writes, and what it refuses (with the fix) before
changing anything. No hub runs here; nothing but temporary folders is touched."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kit.hub import access, checks, setup
from kit.hub.exchange import Refused, copy_without_links, exchange_time

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def course(released_course):
    return released_course


def plan_for(course, tmp_path, **kw):
    options = dict(course=course, instructors="prof", graders="ta", students="alice,bob",
                   hub_dir=tmp_path / "hub", exchange=tmp_path / "exchange", python=sys.executable,
                   grader_account="grader", service_port=9999)
    options.update(kw)
    return setup.make_plan(**options)


def load(text, tmp_path):
    """The generated jupyterhub_config.py as JupyterHub reads it (a traitlets Config)."""
    from traitlets.config.loader import PyFileConfigLoader
    path = tmp_path / "generated" / "jupyterhub_config.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


def test_the_generated_hub_configuration(course, tmp_path):
    plan = plan_for(course, tmp_path, auth="shared", password_file=tmp_path / "pw", data=tmp_path / "cifar")
    (tmp_path / "hub" / "private").mkdir(parents=True)
    (tmp_path / "hub" / "private" / "shared-password").write_text("a-long-password\n")
    files = setup.render(plan)
    c = load(files[plan.config_path][0], tmp_path)
    assert c.JupyterHub.spawner_class == "jupyterhub.spawner.LocalProcessSpawner"
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.user_password == "a-long-password"
    assert c.Authenticator.allowed_users == {"prof", "ta", "alice", "bob"}
    assert c.Authenticator.admin_users == set()
    assert c.Spawner.environment["JUPYTER_CONFIG_PATH"] == str(plan.students_dir)
    assert c.Spawner.cmd[0] == sys.executable
    assert c.Spawner.environment["CIFAR10_DIR"] == str(tmp_path / "cifar")
    [service] = c.JupyterHub.services
    course_id = plan.course_id
    assert service["name"] == course_id and service["user"] == "grader"
    assert service["cwd"] == str(course.resolve()) and service["url"] == "http://127.0.0.1:9999"
    assert service["environment"]["JUPYTER_CONFIG_PATH"] == str(plan.graders_dir)
    assert "--ServerApp.terminals_enabled=False" in service["command"]
    # Only the graders' group may open formgrader; students are in their own group.
    assert c.JupyterHub.load_groups == {f"formgrade-{course_id}": {"users": ["prof", "ta"]},
                                        f"nbgrader-{course_id}": {"users": ["alice", "bob"]}}
    [role] = c.JupyterHub.load_roles
    assert role["groups"] == [f"formgrade-{course_id}"]
    assert f"access:services!service={course_id}" in role["scopes"]
    # The hub's secrets live in its private folder; ports are the ones chosen.
    assert c.JupyterHub.cookie_secret_file.startswith(str(plan.private))
    assert c.JupyterHub.db_url == "sqlite:///" + str(plan.private / "jupyterhub.sqlite")
    assert c.JupyterHub.hub_port == plan.hub_port and plan.hub_port > 0
    assert files[plan.config_path][1] == 0o600


def test_the_students_and_graders_configuration(course, tmp_path):
    import json
    plan = plan_for(course, tmp_path)
    files = {path.relative_to(plan.hub_dir).as_posix(): text for path, (text, _) in setup.render(plan).items()}
    student = load(files["students/nbgrader_config.py"], tmp_path)
    assert student.Exchange.root == str(plan.exchange) and student.CourseDirectory.course_id == plan.course_id
    server = json.loads(files["students/jupyter_server_config.json"])["ServerApp"]["jpserver_extensions"]
    assert server["nbgrader.server_extensions.formgrader"] is False
    page = json.loads(files["students/labconfig/page_config.json"])["disabledExtensions"]
    assert page["@jupyter/nbgrader:formgrader"] and page["@jupyter/nbgrader:create-assignment"]
    grader = load(files["graders/nbgrader_config.py"], tmp_path)
    assert grader.ExchangeFactory.collect == "kit.hub.exchange.KitCollect"
    assert grader.ExchangeFactory.release_assignment == "kit.hub.exchange.KitReleaseAssignment"
    assert grader.Exchange.root == str(plan.exchange)
    graders_server = json.loads(files["graders/jupyter_server_config.json"])["ServerApp"]
    assert graders_server["terminals_enabled"] is False
    assert graders_server["jpserver_extensions"]["jupyterlab"] is False


@pytest.fixture
def open_tmp():
    """A temporary folder other users may enter (pytest's own are closed to them)."""
    import shutil
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="kit-hub-unit-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def problems(plan):
    return "\n".join(setup.check(plan))


def test_missing_pieces_are_named_with_their_fix(course, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(checks.shutil, "which", lambda name, path=None: None)
    plan = plan_for(course, tmp_path, instructors="kit-no-such-prof", students="kit-no-such-student",
                    graders="", grader_account="root")
    text = problems(plan)
    assert "npm install -g configurable-http-proxy" in text
    assert "apt-get install bubblewrap" in text
    assert "useradd --create-home -K HOME_MODE=0700 kit-no-such-prof" in text
    assert "useradd --create-home -K HOME_MODE=0700 kit-no-such-student" in text
    assert "formgrader would run as root" in text and "chown -R grader-" in text


def test_an_unreleased_course_and_a_python_without_jupyterhub(tmp_path):
    empty = tmp_path / "empty-course"
    empty.mkdir()
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\nexit 1\n")
    fake_python.chmod(0o755)
    plan = plan_for(empty, tmp_path, python=fake_python, instructors="", students="", data=tmp_path)
    text = problems(plan)
    assert f"--data {tmp_path} holds no CIFAR-10" in text
    assert "kit release --course" in text
    assert "no instructor named" in text and "no student named" in text
    assert "python -m kit hub-env DIR" in text


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder away")
def test_a_course_students_can_read_is_refused(open_tmp):
    tmp_path = open_tmp
    # `nobody` stands for a student; a world-readable course is refused, with the chmod.
    course = tmp_path / "open-course"
    (course / "release" / "linear_classifiers").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'open'\n")
    for folder in (tmp_path, course):
        folder.chmod(0o755)
    plan = plan_for(course, tmp_path, students="nobody", instructors="root")
    student = access.Account.find("nobody")
    if not access.reachable(course, student, 1):
        pytest.skip("the temporary folder is closed to other users here; nothing to refuse")
    assert f"chmod o-rwx {course}" in problems(plan)


def test_the_command_refuses_without_a_traceback_and_changes_nothing(tmp_path):
    hub_dir = tmp_path / "hub"
    proc = subprocess.run([sys.executable, "-m", "kit", "hub", "--course", str(tmp_path / "no-course"),
                           "--students", "alice", "--instructors", "prof", "--hub-dir", str(hub_dir),
                           "--config-only"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "no course folder at" in proc.stderr and "kit release" in proc.stderr
    assert not hub_dir.exists()


def test_reachability_follows_the_modes(open_tmp):
    tmp_path = open_tmp
    top = tmp_path / "top"
    inner = top / "inner"
    inner.mkdir(parents=True)
    secret = inner / "file"
    secret.write_text("x")
    other = access.Account("other", 54321, frozenset({54321}), "/")
    for folder in [tmp_path, *tmp_path.parents]:
        if not access.allowed(os.stat(folder), other, 1):
            pytest.skip(f"{folder} is closed to other users here")
    top.chmod(0o711)
    inner.chmod(0o755)
    secret.chmod(0o644)
    assert access.reachable(secret, other, 4)
    assert not access.reachable(top, other, 4)        # may pass through, not list
    inner.chmod(0o750)
    assert not access.reachable(secret, other, 4)
    assert access.first_blocker(secret, other) == inner


def test_collect_refuses_links_and_times_by_the_exchange(tmp_path):
    sub = tmp_path / "sub"
    (sub / "classifiers").mkdir(parents=True)
    (sub / "classifiers" / "a.py").write_text("x = 1\n")
    when = exchange_time(sub)
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs((now - when).total_seconds()) < 60
    os.utime(sub / "classifiers" / "a.py", (0, 0))     # mtime can be set back; ctime cannot
    assert abs((now - exchange_time(sub)).total_seconds()) < 60
    copy_without_links(sub, tmp_path / "copy")
    assert (tmp_path / "copy" / "classifiers" / "a.py").read_text() == "x = 1\n"
    (sub / "classifiers" / "b.py").symlink_to("/etc/hostname")
    with pytest.raises(Refused, match="symbolic link"):
        exchange_time(sub)
    with pytest.raises(Refused, match="link"):
        copy_without_links(sub, tmp_path / "copy2")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_collect_refuses_a_submission_holding_another_users_file(tmp_path):
    sub = tmp_path / "sub"
    (sub / "classifiers").mkdir(parents=True)
    planted = sub / "classifiers" / "linear_svm.py"
    planted.write_text("x = 1\n")
    exchange_time(sub)                      # all the submitter's: accepted
    os.chown(planted, 54321, 54321)         # replaced by someone else
    with pytest.raises(Refused, match="belongs to uid 54321, not to the submitter"):
        exchange_time(sub)
