"""`python -m kit certificates` (kit/certificates.py, kit/tls.py): one command writes the
course's CA and the scheduler's, workers' and client's certificates; keys private from the
start; nothing written over without --force; every argument checked before anything is
written. Whether the files really secure a cluster: tests/e2e/test_dask_cli.py."""
import datetime
import ipaddress
import os
import stat

import pytest

from kit import certificates, tls
from kit.__main__ import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, main
from kit.course import KitError

ALL_FILES = {"ca/ca.pem", "ca/ca-key.pem",
             *(f"{role}/{name}" for role in ("scheduler", "worker", "client")
               for name in ("ca.pem", "cert.pem", "key.pem"))}


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def written(course):
    folder = course / ".dask-tls"
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def load(path):
    from cryptography import x509
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    return folder


def test_one_command_writes_the_ca_and_a_folder_per_machine(course, capsys):
    assert main(["certificates", "--course", str(course)]) == EXIT_OK
    out = capsys.readouterr().out
    assert written(course) == ALL_FILES
    folder = course / ".dask-tls"
    # Private keys 0600 in 0700 folders; certificates readable.
    for path in folder.rglob("*"):
        if path.is_dir():
            assert mode(path) == 0o700, path
        else:
            assert mode(path) == (0o600 if "key" in path.name else 0o644), path
    assert mode(folder) == 0o700
    # One CA signs every certificate; each folder holds that CA's certificate.
    ca = load(folder / "ca" / "ca.pem")
    for role in ("scheduler", "worker", "client"):
        assert (folder / role / "ca.pem").read_bytes() == (folder / "ca" / "ca.pem").read_bytes()
        load(folder / role / "cert.pem").verify_directly_issued_by(ca)
        assert tls.problem_with(ca_file=folder / role / "ca.pem", cert_file=folder / role / "cert.pem",
                                key_file=folder / role / "key.pem") is None
    # The guide says what to copy where and that the CA key stays here.
    assert "keep it on this machine only" in out and "--tls-ca-file scheduler/ca.pem" in out


def test_names_in_the_certificates(course):
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID
    certificates.run(course=course, hosts=["10.0.0.5", "Grader1.Example.edu"], days=30)
    folder = course / ".dask-tls"
    for role in ("scheduler", "worker"):
        cert = load(folder / role / "cert.pem")
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert set(names.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address("127.0.0.1"),
                                                                   ipaddress.ip_address("10.0.0.5")}
        assert set(names.get_values_for_type(x509.DNSName)) == {"localhost", "grader1.example.edu"}
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
        assert datetime.timedelta(days=30) <= lifetime <= datetime.timedelta(days=30, minutes=10)
    client = load(folder / "client" / "cert.pem")
    assert list(client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == \
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    ca = load(folder / "ca" / "ca.pem")
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0


def test_existing_files_are_never_overwritten_without_force(course, capsys):
    certificates.run(course=course)
    before = {name: (course / ".dask-tls" / name).read_bytes() for name in ALL_FILES}
    assert main(["certificates", "--course", str(course)]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert err.startswith("error: expected no certificates in") and "--force" in err
    assert {name: (course / ".dask-tls" / name).read_bytes() for name in ALL_FILES} == before
    # Even one file left from an earlier run (a worker's key, say) stops it, writing nothing.
    (course / ".dask-tls" / "ca" / "ca.pem").unlink()
    with pytest.raises(KitError, match="found 10 file"):
        certificates.run(course=course)
    assert not (course / ".dask-tls" / "ca" / "ca.pem").exists()
    # --force writes a new CA and new certificates, the same modes.
    assert main(["certificates", "--course", str(course), "--force"]) == EXIT_OK
    after = {name: (course / ".dask-tls" / name).read_bytes() for name in ALL_FILES}
    assert all(after[name] != before[name] for name in ALL_FILES if name != "ca/ca.pem")
    assert mode(course / ".dask-tls" / "client" / "key.pem") == 0o600
    assert written(course) == ALL_FILES  # no .new file left behind


def test_force_replaces_a_planted_link_instead_of_writing_through_it(course, tmp_path):
    certificates.run(course=course)
    elsewhere = tmp_path / "elsewhere.pem"
    elsewhere.write_text("not yours")
    key = course / ".dask-tls" / "worker" / "key.pem"
    key.unlink()
    key.symlink_to(elsewhere)
    certificates.run(course=course, force=True)
    assert elsewhere.read_text() == "not yours"
    assert not key.is_symlink() and mode(key) == 0o600


@pytest.mark.parametrize("argv, message", [
    (["--host", "bad host"], "expected --host to be a host name or an IP address, got 'bad host'"),
    (["--host=-x.example"], "got '-x.example'"),
    (["--host", "999.1.1.1"], "got '999.1.1.1'"),
    (["--days", "4000"], "expected --days between 1 and 3650, got 4000 instead"),
])
def test_bad_arguments_are_refused_before_anything_is_written(course, capsys, argv, message):
    assert main(["certificates", "--course", str(course), *argv]) == EXIT_REFUSED
    assert message in capsys.readouterr().err
    assert not (course / ".dask-tls").exists()


def test_a_missing_course_or_a_bad_number_of_days(tmp_path, capsys):
    assert main(["certificates", "--course", str(tmp_path / "nowhere")]) == EXIT_REFUSED
    assert "expected the course folder" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()
    with pytest.raises(SystemExit) as usage:
        main(["certificates", "--course", str(tmp_path), "--days", "0"])
    assert usage.value.code == EXIT_USAGE
    assert "expected a whole number of at least 1, got '0' instead" in capsys.readouterr().err
    for days in (0, True, 1.5, "30"):
        with pytest.raises(KitError, match="expected --days"):
            certificates.run(course=tmp_path, days=days)
    assert not (tmp_path / ".dask-tls").exists()


def test_problem_with_names_what_is_wrong(course, tmp_path):
    certificates.run(course=course)
    other = tmp_path / "other"
    other.mkdir()
    certificates.run(course=other)
    ours, theirs = course / ".dask-tls" / "client", other / ".dask-tls" / "client"
    assert "was not signed by the CA" in tls.problem_with(
        ca_file=ours / "ca.pem", cert_file=theirs / "cert.pem", key_file=theirs / "key.pem")
    assert "is not the one of the certificate" in tls.problem_with(
        ca_file=ours / "ca.pem", cert_file=ours / "cert.pem", key_file=theirs / "key.pem")
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=400)
    assert "not now" in tls.problem_with(ca_file=ours / "ca.pem", cert_file=ours / "cert.pem",
                                         key_file=ours / "key.pem", now=later)
    (tmp_path / "junk.pem").write_text("junk")
    assert "cannot be read as PEM" in tls.problem_with(
        ca_file=ours / "ca.pem", cert_file=tmp_path / "junk.pem", key_file=ours / "key.pem")
