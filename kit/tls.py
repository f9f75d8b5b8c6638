"""X.509 building blocks for the course's Dask certificates (kit/certificates.py writes
them, kit/autograde/cluster.py checks the client's), on the `cryptography` package.

Keys are ECDSA P-256 (quick to make, accepted by every OpenSSL that Python 3.11 uses);
certificates are signed with SHA-256. Dask checks a peer's certificate against the CA only,
never its host name (distributed.security turns check_hostname off), so what authenticates
a peer is the signature of the course's own CA; the subjectAltNames are written anyway, for
tools that do check them.
"""
import datetime
import ipaddress

CLOCK_SKEW = datetime.timedelta(minutes=5)  # machines whose clocks differ a little still agree
CN_MAX = 64                                 # X.509's upper bound for a common name


def new_key():
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:CN_MAX])])


def _builder(*, subject, issuer, public_key, now, days):
    from cryptography import x509
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _usage(*, cert_sign):
    from cryptography import x509
    return x509.KeyUsage(digital_signature=not cert_sign, key_cert_sign=cert_sign, crl_sign=cert_sign,
                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                         key_agreement=False, encipher_only=False, decipher_only=False)


def make_ca(common_name, *, now, days):
    """A self-signed CA that may sign end certificates only (path length 0).

    Inputs: common_name; now, an aware datetime; days of validity.
    Returns (private key, certificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    key = new_key()
    name = _name(common_name)
    cert = (_builder(subject=name, issuer=name, public_key=key.public_key(), now=now, days=days)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_leaf(common_name, *, ca_key, ca_cert, now, days, names=(), server=True):
    """An end certificate signed by the CA, for TLS clients and (if `server`) servers.

    Inputs: common_name; ca_key and ca_cert, from make_ca; now and days as there; names,
    ipaddress objects and DNS names for its subjectAltName; server, whether the holder also
    accepts connections (a scheduler or a worker; the instructor's client only connects).
    Returns (private key, certificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID
    key = new_key()
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
    builder = (_builder(subject=_name(common_name), issuer=ca_cert.subject, public_key=key.public_key(),
                        now=now, days=days)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_usage(cert_sign=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(n) if isinstance(n, (ipaddress.IPv4Address, ipaddress.IPv6Address))
             else x509.DNSName(n) for n in names]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def cert_pem(cert):
    from cryptography.hazmat.primitives import serialization
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key):
    """The key unencrypted (PKCS#8 PEM): the Dask processes read it unattended, so the file
    mode (0600) is what protects it."""
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def problem_with(*, ca_file, cert_file, key_file, now=None):
    """What is wrong with a certificate/key pair for connecting to the course's cluster, or
    None if nothing is: unreadable files, a certificate the CA did not sign, one not valid
    now, a key that is not the certificate's.

    Inputs: paths of the CA certificate, the certificate and its private key; now, an
    aware datetime (default: the current time). Returns a sentence or None."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    now = now or datetime.datetime.now(datetime.timezone.utc)
    loaded = {}
    for label, path, load in (("CA certificate", ca_file, x509.load_pem_x509_certificate),
                              ("certificate", cert_file, x509.load_pem_x509_certificate),
                              ("private key", key_file,
                               lambda data: serialization.load_pem_private_key(data, password=None))):
        try:
            loaded[label] = load(path.read_bytes())
        except (OSError, ValueError, TypeError) as err:
            return f"the {label} {path} cannot be read as PEM ({type(err).__name__}: {err})"
    ca, cert, key = loaded["CA certificate"], loaded["certificate"], loaded["private key"]
    try:
        cert.verify_directly_issued_by(ca)
    except Exception as err:  # InvalidSignature, or ValueError/TypeError: another issuer or key type
        return (f"the certificate {cert_file} was not signed by the CA in {ca_file} "
                f"({type(err).__name__}); both must come from the same `python -m kit certificates`")
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return (f"the certificate {cert_file} is valid from {cert.not_valid_before_utc:%Y-%m-%d} to "
                f"{cert.not_valid_after_utc:%Y-%m-%d}, not now")
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
            != cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo):
        return f"the private key {key_file} is not the one of the certificate {cert_file}"
    return None
