"""`kit autograde --scheduler` grades only on a mutual-TLS Dask cluster (kit/autograde/
cluster.py): a plain tcp:// scheduler, which anyone who reaches can use to forge grades, is
refused, saying why and how to set TLS up; the client's certificate files are checked
before anything is graded or written. A real cluster: tests/e2e/test_dask_cli.py."""
import os

import pytest

from kit import certificates
from kit.__main__ import EXIT_REFUSED, main
from kit.autograde import cluster
from kit.course import KitError


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    certificates.run(course=folder)
    return folder


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786", "ws://127.0.0.1:8786",
                                     "TCP://127.0.0.1:8786"])
def test_an_open_scheduler_is_refused_saying_what_it_means(course, address):
    with pytest.raises(KitError) as refused:
        cluster.check_scheduler(address, course=course)
    message = str(refused.value)
    assert message.startswith(f"expected a tls:// scheduler address, got {address!r} instead")
    assert "anyone who can reach it runs code" in message and "forge every grade" in message
    assert "python -m kit certificates" in message and "tls://HOST:PORT" in message


@pytest.mark.parametrize("address", ["tls://", "tls://host", "tls://host:0", "tls://host:99999",
                                     "tls://a b:8786", "inproc://x", "ucx://10.0.0.5:8786"])
def test_a_malformed_address_is_refused(course, address):
    with pytest.raises(KitError, match="expected a scheduler address tls://HOST:PORT"):
        cluster.check_scheduler(address, course=course)


def test_the_course_client_certificate_is_found_and_used(course):
    access = cluster.check_scheduler("tls://10.0.0.5:8786", course=course)
    client = course / ".dask-tls" / "client"
    assert (access.ca_file, access.cert_file, access.key_file) == \
        (client / "ca.pem", client / "cert.pem", client / "key.pem")
    security = access.security()
    assert security.require_encryption
    assert security.tls_client_cert == str(client / "cert.pem")
    assert cluster.check_scheduler("tls://[::1]:8786", course=course, folder=client).address == "tls://[::1]:8786"


def test_missing_foreign_or_readable_client_files_are_refused(course, tmp_path):
    with pytest.raises(KitError, match="expected the client's certificate files .*kit certificates"):
        cluster.check_scheduler("tls://127.0.0.1:8786", course=course, folder=tmp_path / "nothing")
    other = tmp_path / "other"
    other.mkdir()
    certificates.run(course=other)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name, source in (("ca.pem", course), ("cert.pem", other), ("key.pem", other)):
        (mixed / name).write_bytes((source / ".dask-tls" / "client" / name).read_bytes())
    os.chmod(mixed / "key.pem", 0o600)
    with pytest.raises(KitError, match="was not signed by the CA"):
        cluster.check_scheduler("tls://127.0.0.1:8786", course=course, folder=mixed)
    key = course / ".dask-tls" / "client" / "key.pem"
    os.chmod(key, 0o640)
    with pytest.raises(KitError, match=r"readable by its owner only, got mode 0640 instead.*chmod 600"):
        cluster.check_scheduler("tls://127.0.0.1:8786", course=course)


def test_autograde_refuses_a_tcp_scheduler_before_anything_changes(released_course, capsys):
    gradebook = released_course / "gradebook.db"
    before = (gradebook.stat().st_mtime_ns, sorted(p.name for p in released_course.iterdir()))
    code = main(["autograde", "--course", str(released_course), "--scheduler", "tcp://127.0.0.1:8786"])
    assert code == EXIT_REFUSED
    err = capsys.readouterr().err
    assert err.startswith("error: expected a tls:// scheduler address") and "forge every grade" in err
    assert (gradebook.stat().st_mtime_ns, sorted(p.name for p in released_course.iterdir())) == before


def test_autograde_needs_the_client_certificate_for_a_tls_scheduler(released_course, capsys):
    assert main(["autograde", "--course", str(released_course), "--scheduler", "tls://127.0.0.1:8786"]) \
        == EXIT_REFUSED
    assert "expected the client's certificate files" in capsys.readouterr().err
    assert main(["autograde", "--course", str(released_course), "--certificates", "x"]) == EXIT_REFUSED
    assert "expected --certificates only with --scheduler" in capsys.readouterr().err


def test_a_scheduler_that_cannot_be_reached_is_a_refusal_not_a_traceback(course):
    import socket
    with socket.socket() as s:  # a port on 127.0.0.1 where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    access = cluster.check_scheduler(f"tls://127.0.0.1:{port}", course=course)
    with pytest.raises(KitError, match="could not connect to the Dask scheduler at tls://127.0.0.1:"):
        cluster.connect(access, timeout=2)
