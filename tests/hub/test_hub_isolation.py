"""On the hub, students are kept apart from each other and from the graders (real OS users).

One course, started by `python -m kit hub`: the grader account releases with nbgrader's own
command (what formgrader's Release button runs), the two students fetch and submit with
theirs (what the Assignments tab runs), each as their own OS user. Then:

- a student cannot list the exchange's inbound or feedback folders, nor open another
  student's home (where nbgrader keeps their submitted copy and fetched feedback), the
  course folder or the kit;
- a student who submits under another student's name is refused at collect (that
  student's own submission is collected), and so is a submission holding a link;
- the time a submission arrived is the exchange's, not the one the student's client wrote;
- a student is refused by formgrader's service (through the hub, and directly on its port
  with their own API token) and by the instructor's server.
"""
import time
from pathlib import Path

import pytest

from hub_helpers import (ALICE, ASSIGNMENT, BOB, GRADER, HUB_PYTHON, INSTRUCTOR, TA, HubSession, as_user,
                         course_id, nbgrader_as, ok, submit)


def refused(proc):
    return proc.returncode != 0 and "Permission denied" in proc.stderr


def test_a_student_cannot_read_what_is_not_theirs(hub, exchange):
    inbound, feedback = exchange / "inbound", exchange / "feedback"
    bob_home = Path(f"/home/{BOB}")
    assert refused(as_user(ALICE, ["ls", str(inbound)]))
    assert refused(as_user(ALICE, ["ls", str(feedback)]))
    assert refused(as_user(ALICE, ["ls", str(bob_home)]))
    assert refused(as_user(ALICE, ["ls", str(hub.course)]))
    assert refused(as_user(ALICE, ["cat", str(hub.course / "nbgrader_config.py")]))
    assert refused(as_user(ALICE, ["cat", str(hub.kit / "classifiers" / "linear_svm.py")]))
    assert refused(as_user(ALICE, ["cat", str(hub.hub_dir / "private" / "jupyterhub_cookie_secret")]))
    # Bob's submission is there, under a name with a random part she cannot list or guess.
    assert [p for p in inbound.iterdir() if p.name.startswith(BOB + "+")]
    assert as_user(ALICE, ["sh", "-c", f"ls -d {inbound}/{BOB}+*"]).returncode != 0
    # Her own Assignments list works (the exchange and the course id are set for her).
    listing = ok(nbgrader_as(hub, ALICE, "list"))
    assert ASSIGNMENT in listing.stdout + listing.stderr


def test_forged_linked_and_backdated_submissions_are_refused_or_retimed(hub, exchange):
    inbound = exchange / "inbound"
    # Alice submits as Bob, later than Bob: nbgrader's collect would take hers for his.
    time.sleep(1.1)
    ok(submit(hub, ALICE, f"--CourseDirectory.student_id={BOB}"))
    # Alice hand-makes a submission that claims to be from 2020 and links to the solutions.
    forged_time = "2020-01-01 00:00:00.000000 UTC"
    for name, linked in (("backdated", False), ("linked", True)):
        script = (f"import shutil, os; d = {str(inbound)!r} + '/{ALICE}+{ASSIGNMENT}+{forged_time}+{name}'; "
                  f"shutil.copytree(os.path.expanduser('~/{ASSIGNMENT}'), d); "
                  f"open(d + '/timestamp.txt', 'w').write({forged_time!r})")
        if linked:
            target = hub.course / "source" / ASSIGNMENT / "classifiers" / "linear_svm.py"
            script += f"; os.remove(d + '/classifiers/linear_svm.py'); os.symlink({str(target)!r}, d + '/classifiers/linear_svm.py')"
        ok(as_user(ALICE, [str(HUB_PYTHON), "-c", script]))
    started = time.time()
    proc = ok(nbgrader_as(hub, GRADER, "collect", ASSIGNMENT, graders=True))
    log = proc.stdout + proc.stderr
    assert f"names {BOB} but belongs to {ALICE}" in log, log
    assert "is a symbolic link" in log, log
    submitted = hub.course / "submitted"
    # Bob's own submission was collected, not Alice's forgery.
    bob_copy = submitted / BOB / ASSIGNMENT
    bob_exchange = [p for p in inbound.iterdir() if p.name.startswith(BOB + "+")]
    owners = {p.stat().st_uid for p in bob_exchange}
    assert len(owners) == 2    # his and the forgery
    own = next(p for p in bob_exchange if p.owner() == BOB)
    assert (bob_copy / "submission_secret.txt").is_file(), (log, sorted(str(p) for p in submitted.rglob("*")))
    assert (bob_copy / "submission_secret.txt").read_text() == (own / "submission_secret.txt").read_text()
    # Alice's latest real submission by the exchange's clock: the backdated one (made last),
    # timed now, not 2020; no link anywhere in what was collected.
    alice_copy = submitted / ALICE / ASSIGNMENT
    stamp = (alice_copy / "timestamp.txt").read_text()
    from nbgrader.utils import parse_utc
    import datetime
    when = parse_utc(stamp).replace(tzinfo=datetime.timezone.utc).timestamp()
    assert abs(when - started) < 120, stamp
    assert (alice_copy / "timestamp.student.txt").read_text() == forged_time
    assert not any(p.is_symlink() for p in alice_copy.rglob("*"))
    solution = (hub.course / "source" / ASSIGNMENT / "classifiers" / "linear_svm.py").read_bytes()
    assert (alice_copy / "classifiers" / "linear_svm.py").read_bytes() != solution


def test_a_student_cannot_reach_formgrader_or_the_instructor(hub, exchange):
    service = f"services/{course_id(hub)}/formgrader"
    # The instructor and the TA reach formgrader through the hub.
    for staff in (INSTRUCTOR, TA):
        status, url, body = HubSession(hub, staff).login().get(service, timeout=120)
        assert status == 200 and "formgrade" in body, (staff, status, url)
    instructor = HubSession(hub, INSTRUCTOR).login()
    instructor.get(f"user/{INSTRUCTOR}/lab", timeout=120)   # the instructor's own server runs
    deadline = time.monotonic() + 90
    while not (lambda r: r[0] == 200 and f"/user/{INSTRUCTOR}/lab" in r[1] and "/hub/" not in r[1])(
            instructor.get(f"user/{INSTRUCTOR}/lab", timeout=120)):
        assert time.monotonic() < deadline, "the instructor's server did not start"
        time.sleep(1)
    alice = HubSession(hub, ALICE).login()
    status, url, body = alice.get(service)
    assert status == 403, (status, url)
    assert "manage_assignments" not in url
    # Directly on the service's own port, with her own API token: refused.
    import urllib.request
    import urllib.error
    hub_config = (hub.hub_dir / "jupyterhub_config.py").read_text()
    service_url = hub_config.split('"url": ', 1)[1].split(",", 1)[0].strip("'\"")
    token = alice.token()
    request = urllib.request.Request(f"{service_url}/services/{course_id(hub)}/formgrader/api/assignments",
                                     headers={"Authorization": "token " + token})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 403
    # The instructor's server: neither its files nor its API.
    for path in (f"user/{INSTRUCTOR}/api/contents", f"user/{INSTRUCTOR}/lab"):
        status, url, body = alice.get(path)
        assert status in (403, 404), (path, status, url)     # the hub's refusal, not the server
        assert '"type": "directory"' not in body and "JupyterLab" not in body


def test_a_release_holding_solutions_never_reaches_the_exchange(hub, exchange):
    """Formgrader's Generate (nbgrader's generate_assignment) copies classifiers/*.py with the
    reference solutions; its Release (nbgrader's release_assignment) is then refused, and
    what students fetch stays the kit's release. (Last here: it leaves the course's release
    folder as Generate made it.)"""
    from kit.release import secret_lines
    outbound = exchange / "outbound" / ASSIGNMENT
    before = {p.relative_to(outbound): p.read_bytes() for p in outbound.rglob("*") if p.is_file()}
    ok(nbgrader_as(hub, GRADER, "generate_assignment", ASSIGNMENT, "--force", graders=True))
    released_py = (hub.course / "release" / ASSIGNMENT / "classifiers" / "linear_svm.py").read_text()
    secrets = secret_lines(hub.course / "source" / ASSIGNMENT)
    assert any(line in released_py for line in secrets), "expected Generate to copy the solutions"
    proc = nbgrader_as(hub, GRADER, "release_assignment", ASSIGNMENT, "--force", graders=True)
    assert proc.returncode != 0
    assert "still holds instructor material" in proc.stdout + proc.stderr
    assert "python -m kit release" in proc.stdout + proc.stderr
    after = {p.relative_to(outbound): p.read_bytes() for p in outbound.rglob("*") if p.is_file()}
    assert after == before
