"""Our CA: mitmproxy's files, name-constrained to the Google API hosts, enforced by real TLS."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
    pkcs12,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID
from mitmproxy.addons.next_layer import NextLayer
from mitmproxy.certs import DEFAULT_DHPARAM, CertStore, CertStoreEntry
from mitmproxy.proxy.context import Context
from mitmproxy.test import taddons, tflow

from zerogravity_proxy import ca as ca_module
from zerogravity_proxy.ca import (
    CA_CERT_NAME,
    CA_KEY_NAME,
    CaError,
    allow_hosts_regex,
    ensure_ca,
    export_ca,
    init_ca,
    show_ca,
)
from zerogravity_proxy.settings import GOOGLE_API_HOSTS

HOSTS = GOOGLE_API_HOSTS
GEMINI = "generativelanguage.googleapis.com"
PUBLIC = ("mitmproxy-ca-cert.pem", "mitmproxy-ca-cert.cer", "mitmproxy-ca-cert.p12")
PRIVATE = ("mitmproxy-ca.pem", "mitmproxy-ca.p12")
DHPARAM = "mitmproxy-dhparam.pem"
X509_V_ERR_PERMITTED_VIOLATION = 47  # OpenSSL's x509_vfy.h: "permitted subtree violation"


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    """A fresh CA for the Google API hosts."""
    init_ca(tmp_path / "mitmproxy", HOSTS)
    return tmp_path / "mitmproxy"


def ca_cert(confdir: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((confdir / CA_CERT_NAME).read_bytes())


def snapshot(confdir: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file's bytes, mode and mtime: to prove nothing was touched."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime_ns)
        for p in sorted(confdir.iterdir())
    }


def mitmproxy_own_ca(path: Path) -> Path:
    """A CA as mitmproxy makes it when the confdir has none: no name constraints."""
    CertStore.create_store(path, "mitmproxy", 2048)
    return path


# The certificate ---------------------------------------------------------------------------


def test_extensions_are_exactly_these(confdir: Path) -> None:
    cert = ca_cert(confdir)
    ext = {e.oid: e for e in cert.extensions}
    assert set(ext) == {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.NAME_CONSTRAINTS,
    }
    basic = ext[ExtensionOID.BASIC_CONSTRAINTS]
    assert basic.critical and basic.value == x509.BasicConstraints(ca=True, path_length=0)
    usage = ext[ExtensionOID.KEY_USAGE]
    assert usage.critical and usage.value == x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    eku = ext[ExtensionOID.EXTENDED_KEY_USAGE]
    assert not eku.critical
    assert eku.value == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    ski = ext[ExtensionOID.SUBJECT_KEY_IDENTIFIER]
    assert not ski.critical
    assert ski.value == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    nc = ext[ExtensionOID.NAME_CONSTRAINTS]
    assert nc.critical
    assert nc.value == x509.NameConstraints(
        permitted_subtrees=[x509.DNSName(h) for h in HOSTS], excluded_subtrees=None
    )


def test_self_signed_rsa_ca_valid_for_the_requested_days(tmp_path: Path) -> None:
    info = init_ca(tmp_path, [GEMINI], days=30)
    cert = ca_cert(tmp_path)
    cert.verify_directly_issued_by(cert)
    assert cert.issuer == cert.subject
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "zerogravity-proxy CA"
    )
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 3072
    assert info.key_type == "RSA 3072"
    now = datetime.datetime.now(datetime.UTC)
    assert cert.not_valid_before_utc < now - datetime.timedelta(days=1)
    remaining = cert.not_valid_after_utc - now
    assert datetime.timedelta(days=29) < remaining <= datetime.timedelta(days=30)
    with pytest.raises(CaError, match="days"):
        init_ca(tmp_path / "other", [GEMINI], days=0)


def test_hosts_are_normalised(tmp_path: Path) -> None:
    info = init_ca(tmp_path, [" Generativelanguage.GoogleAPIs.com ", GEMINI, "bücher.example"])
    assert info.permitted_hosts == (GEMINI, "xn--bcher-kva.example")


@pytest.mark.parametrize(
    "hosts",
    [
        [],
        [""],
        ["*.googleapis.com"],
        [".googleapis.com"],
        ["googleapis.com."],
        ["generativelanguage.googleapis.com:443"],
        ["https://generativelanguage.googleapis.com"],
        ["127.0.0.1"],
        ["::1"],
        ["localhost"],
        ["exa mple.com"],
        ["-bad.example.com"],
    ],
)
def test_refuses_what_is_not_a_host_name(tmp_path: Path, hosts: list[str]) -> None:
    with pytest.raises(CaError):
        init_ca(tmp_path, hosts)
    with pytest.raises(CaError):
        allow_hosts_regex(hosts)
    assert not tmp_path.joinpath(CA_KEY_NAME).exists()


# The files ---------------------------------------------------------------------------------


def test_files_modes_and_contents(tmp_path: Path) -> None:
    """mitmproxy's names and formats; modes set explicitly, whatever the umask."""
    confdir = tmp_path / "state" / "mitmproxy"
    old_umask = os.umask(0)
    try:
        init_ca(confdir, HOSTS)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(confdir.stat().st_mode) == 0o700
    assert sorted(p.name for p in confdir.iterdir()) == sorted((*PUBLIC, *PRIVATE, DHPARAM))
    for name in PRIVATE:
        assert stat.S_IMODE((confdir / name).stat().st_mode) == 0o600, name
    for name in (*PUBLIC, DHPARAM):
        assert stat.S_IMODE((confdir / name).stat().st_mode) == 0o644, name

    cert = ca_cert(confdir)
    # mitmproxy-ca.pem: the key (TraditionalOpenSSL, as mitmproxy writes it), then the cert.
    raw = (confdir / "mitmproxy-ca.pem").read_bytes()
    assert raw.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert x509.load_pem_x509_certificates(raw) == [cert]
    key = load_pem_private_key(raw, None)
    assert key.public_key() == cert.public_key()
    p12 = pkcs12.load_pkcs12((confdir / "mitmproxy-ca.p12").read_bytes(), None)
    assert p12.cert is not None and p12.cert.certificate == cert
    assert p12.key is not None and p12.key.public_key() == cert.public_key()
    # Public files: the certificate only.
    assert (confdir / "mitmproxy-ca-cert.cer").read_bytes() == cert.public_bytes(Encoding.PEM)
    public_p12 = pkcs12.load_pkcs12((confdir / "mitmproxy-ca-cert.p12").read_bytes(), None)
    assert public_p12.key is None  # so the certificate loads as an "additional" one
    assert [c.certificate for c in public_p12.additional_certs] == [cert]
    for name in PUBLIC:
        assert b"PRIVATE KEY" not in (confdir / name).read_bytes()
    assert (confdir / DHPARAM).read_bytes() == DEFAULT_DHPARAM


def test_refuses_to_replace_a_ca_unless_forced(confdir: Path) -> None:
    before = snapshot(confdir)
    with pytest.raises(CaError, match="force"):
        init_ca(confdir, [GEMINI])
    assert snapshot(confdir) == before
    old = show_ca(confdir)

    new = init_ca(confdir, [GEMINI], force=True)
    assert new.fingerprint != old.fingerprint
    assert new.permitted_hosts == (GEMINI,)
    assert show_ca(confdir) == new
    assert ca_cert(confdir).fingerprint(hashes.SHA256()).hex(":").upper() == new.fingerprint


def test_also_refuses_to_replace_mitmproxys_own_ca(tmp_path: Path) -> None:
    mitmproxy_own_ca(tmp_path)
    with pytest.raises(CaError, match="already holds a CA"):
        init_ca(tmp_path, HOSTS)


def test_an_interrupted_replacement_leaves_no_mismatched_ca(
    confdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key file goes first and comes back last: never a new certificate beside an old key."""
    write = ca_module._write_atomically

    def failing(path: Path, data: bytes, mode: int) -> None:
        if path.name == CA_KEY_NAME:
            raise OSError(28, "No space left on device")
        write(path, data, mode)

    monkeypatch.setattr(ca_module, "_write_atomically", failing)
    with pytest.raises(CaError, match="No space left"):
        init_ca(confdir, HOSTS, force=True)
    assert not (confdir / CA_KEY_NAME).exists()
    assert not [p for p in confdir.iterdir() if p.name.endswith(".tmp")]


# ensure_ca ---------------------------------------------------------------------------------


def test_ensure_ca_creates_once_then_leaves_it_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    confdir = tmp_path / "mitmproxy"
    first = ensure_ca(confdir, HOSTS)
    assert first.permitted_hosts == HOSTS
    before = snapshot(confdir)
    with caplog.at_level(logging.INFO, logger="zerogravity_proxy.ca"):
        again = ensure_ca(confdir, [h.upper() for h in reversed(HOSTS)])
    assert again == first
    assert snapshot(confdir) == before
    assert caplog.records == []


def test_ensure_ca_warns_about_different_constraints_and_keeps_the_ca(
    confdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = snapshot(confdir)
    wanted = [*HOSTS, "aiplatform.googleapis.com"]
    with caplog.at_level(logging.WARNING, logger="zerogravity_proxy.ca"):
        info = ensure_ca(confdir, wanted)
    assert info.permitted_hosts == HOSTS
    assert snapshot(confdir) == before
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "clients will reject leaves for aiplatform.googleapis.com" in message
    assert "ca init --force" in message


def test_ensure_ca_warns_about_an_unconstrained_ca(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    confdir = mitmproxy_own_ca(tmp_path / "mitmproxy")
    before = snapshot(confdir)
    with caplog.at_level(logging.WARNING, logger="zerogravity_proxy.ca"):
        info = ensure_ca(confdir, HOSTS)
    assert info.permitted_hosts is None
    assert info.key_type == "RSA 2048"
    assert snapshot(confdir) == before
    [record] = caplog.records
    assert "unconstrained" in record.getMessage()


def test_ensure_ca_restores_a_missing_public_certificate(
    confdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (confdir / CA_CERT_NAME).unlink()
    with caplog.at_level(logging.WARNING, logger="zerogravity_proxy.ca"):
        info = ensure_ca(confdir, HOSTS)
    assert (confdir / CA_CERT_NAME).read_text() == export_ca(confdir)
    assert stat.S_IMODE((confdir / CA_CERT_NAME).stat().st_mode) == 0o644
    assert info == show_ca(confdir)
    assert "missing or stale" in caplog.text


# show and export ---------------------------------------------------------------------------


def test_show_ca(confdir: Path) -> None:
    info = show_ca(confdir)
    cert = ca_cert(confdir)
    assert info.path == confdir / CA_CERT_NAME
    assert info.subject == "O=zerogravity-proxy,CN=zerogravity-proxy CA"
    assert info.fingerprint == cert.fingerprint(hashes.SHA256()).hex(":").upper()
    assert len(info.fingerprint) == 32 * 3 - 1
    assert info.not_before == cert.not_valid_before_utc
    assert info.not_after == cert.not_valid_after_utc
    assert info.permitted_hosts == HOSTS
    assert info.key_type == "RSA 3072"
    text = info.describe()
    assert info.fingerprint in text and GEMINI in text and "subdomains" in text


def test_show_an_unconstrained_ca(tmp_path: Path) -> None:
    info = show_ca(mitmproxy_own_ca(tmp_path))
    assert info.permitted_hosts is None
    assert "ANY host name" in info.describe()


def test_export_ca_is_the_public_certificate(confdir: Path) -> None:
    pem = export_ca(confdir)
    assert pem == (confdir / CA_CERT_NAME).read_text()
    assert pem.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE" not in pem


def test_show_and_export_without_a_ca(tmp_path: Path) -> None:
    with pytest.raises(CaError, match="ca init"):
        show_ca(tmp_path)
    with pytest.raises(CaError, match="ca init"):
        export_ca(tmp_path)


# mitmproxy uses it, and clients enforce it ---------------------------------------------------


def leaf(store: CertStore, *names: str) -> CertStoreEntry:
    """The leaf mitmproxy's tlsconfig asks for: CN = first name, every name a SAN."""
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    return store.get_cert(names[0], sans)


def handshake(cafile: Path, entry: CertStoreEntry, server_hostname: str, tmp: Path) -> bytes:
    """A TLS handshake on 127.0.0.1 to a server presenting `entry`, by a client trusting only
    `cafile`. Returns the certificate the client saw; raises SSLCertVerificationError."""
    chain = tmp / f"leaf-{entry.cert.serial}.pem"
    key = entry.privatekey.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    chain.write_bytes(entry.cert.to_pem() + key)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(chain)
    client_ctx = ssl.create_default_context(cafile=str(cafile))  # no system store

    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)

        def serve() -> None:
            try:
                conn, _ = listener.accept()
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass  # the client's alert when it rejects us, or its goodbye

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            with (
                socket.create_connection(listener.getsockname(), timeout=10) as raw,
                client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
            ):
                der = tls.getpeercert(binary_form=True)
                assert der is not None
                return der
        finally:
            thread.join(10)


@pytest.fixture
def store(confdir: Path) -> Iterator[CertStore]:
    """mitmproxy's CertStore, loaded the way its tlsconfig addon loads the confdir."""
    before = snapshot(confdir)
    yield CertStore.from_store(confdir, "mitmproxy", 2048)
    assert snapshot(confdir) == before  # mitmproxy did not make a CA of its own


def test_mitmproxy_signs_leaves_with_our_ca(confdir: Path, store: CertStore) -> None:
    ours = ca_cert(confdir)
    assert store.default_ca.fingerprint() == ours.fingerprint(hashes.SHA256())
    entry = store.get_cert(GEMINI, [])
    cert = entry.cert.to_cryptography()
    cert.verify_directly_issued_by(ours)
    assert cert.issuer == ours.subject
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ours.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


@pytest.mark.parametrize("name", [GEMINI, "eu.generativelanguage.googleapis.com", *HOSTS[1:]])
def test_tls_client_accepts_leaves_for_permitted_hosts(
    confdir: Path, store: CertStore, tmp_path: Path, name: str
) -> None:
    entry = leaf(store, name)
    seen = handshake(confdir / CA_CERT_NAME, entry, name, tmp_path)
    assert seen == entry.cert.to_cryptography().public_bytes(Encoding.DER)


@pytest.mark.parametrize(
    "name",
    ["example.com", "googleapis.com", "evilgenerativelanguage.googleapis.com", "google.com"],
)
def test_tls_client_rejects_leaves_for_other_hosts(
    confdir: Path, store: CertStore, tmp_path: Path, name: str
) -> None:
    """The hostname matches the leaf: the name constraint alone makes OpenSSL refuse it."""
    entry = leaf(store, name)
    with pytest.raises(ssl.SSLCertVerificationError) as e:
        handshake(confdir / CA_CERT_NAME, entry, name, tmp_path)
    assert e.value.verify_code == X509_V_ERR_PERMITTED_VIOLATION, e.value.verify_message


def test_the_same_leaf_from_an_unconstrained_ca_is_accepted(tmp_path: Path) -> None:
    """Control: without our constraints the example.com leaf verifies."""
    confdir = mitmproxy_own_ca(tmp_path / "mitmproxy")
    store = CertStore.from_store(confdir, "mitmproxy", 2048)
    handshake(confdir / CA_CERT_NAME, leaf(store, "example.com"), "example.com", tmp_path)


def test_a_leaf_copying_upstream_sans_is_rejected(
    confdir: Path, store: CertStore, tmp_path: Path
) -> None:
    """With `upstream_cert` (on by default) and an eager connection, mitmproxy copies the real
    server's SANs (Google's: *.googleapis.com, ...) into the leaf: one name outside the
    constraints fails the whole leaf. The daemon must run with upstream_cert=false."""
    entry = leaf(store, GEMINI, "*.googleapis.com")
    with pytest.raises(ssl.SSLCertVerificationError) as e:
        handshake(confdir / CA_CERT_NAME, entry, GEMINI, tmp_path)
    assert e.value.verify_code == X509_V_ERR_PERMITTED_VIOLATION


def test_a_transparent_mode_leaf_with_the_destination_ip_is_accepted(
    confdir: Path, store: CertStore, tmp_path: Path
) -> None:
    """In transparent mode mitmproxy adds the destination IP as a SAN beside the SNI name:
    DNS constraints leave IP names alone, which is why the CA excludes no IP ranges."""
    entry = leaf(store, GEMINI, "142.250.74.42")
    handshake(confdir / CA_CERT_NAME, entry, GEMINI, tmp_path)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")
@pytest.mark.parametrize("cn_only", [False, True], ids=["san", "cn-only"])
def test_openssl_verify_enforces_the_constraints(
    confdir: Path, store: CertStore, tmp_path: Path, cn_only: bool
) -> None:
    """`cn-only`: `get_cert(name, [])` leaves with no DNS SAN are checked by common name
    (not under -x509_strict, which refuses their empty subjectAltName outright)."""

    def verify(name: str) -> subprocess.CompletedProcess[str]:
        path = tmp_path / f"{name}.pem"
        entry = store.get_cert(name, []) if cn_only else leaf(store, name)
        path.write_bytes(entry.cert.to_pem())
        strict = [] if cn_only else ["-x509_strict"]
        command = ["openssl", "verify", *strict, "-purpose", "sslserver"]
        return subprocess.run(
            [*command, "-CAfile", str(confdir / CA_CERT_NAME), str(path)],
            capture_output=True,
            text=True,
            check=False,
        )

    good = verify(GEMINI)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = verify("example.com")
    assert bad.returncode != 0
    assert "permitted subtree violation" in bad.stdout + bad.stderr


# allow_hosts -------------------------------------------------------------------------------


def client_hello(sni: str) -> bytes:
    """The first TLS record a real client sends, with `sni` in it."""
    tls = ssl.create_default_context().wrap_bio(
        ssl.MemoryBIO(), outgoing := ssl.MemoryBIO(), server_hostname=sni
    )
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def ignored(allow_hosts: Sequence[str], address: tuple[str, int], sni: str | None) -> bool | None:
    """mitmproxy's own decision (NextLayer), for a connection to `address` with that SNI."""
    addon = NextLayer()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, allow_hosts=list(allow_hosts))
        context = Context(tflow.tclient_conn(), tctx.options)
        context.client.sni = None
        context.server.address = address
        return addon._ignore_connection(context, client_hello(sni) if sni else b"", b"")


@pytest.mark.parametrize(
    ("address", "sni", "intercepted"),
    [
        # Regular mode: the CONNECT target is the server address.
        ((GEMINI, 443), GEMINI, True),
        ((GEMINI, 443), None, True),
        ((GEMINI, 8443), None, True),
        (("GenerativeLanguage.GoogleAPIs.com", 443), None, True),
        (("eu.generativelanguage.googleapis.com", 443), None, True),
        (("daily-cloudcode-pa.sandbox.googleapis.com", 443), None, True),
        (("example.com", 443), "example.com", False),
        (("googleapis.com", 443), None, False),
        (("www.googleapis.com", 443), None, False),
        (("evilgenerativelanguage.googleapis.com", 443), None, False),
        ((f"{GEMINI}.evil.com", 443), None, False),
        (("127.0.0.1", 443), None, False),
        # Transparent mode: the destination is an IP; the SNI decides.
        (("142.250.74.42", 443), GEMINI, True),
        (("142.250.74.42", 443), "cloudcode-pa.googleapis.com", True),
        (("142.250.74.42", 443), "www.google.com", False),
        (("142.250.74.42", 443), None, False),
    ],
)
def test_allow_hosts_intercepts_exactly_our_hosts(
    address: tuple[str, int], sni: str | None, intercepted: bool
) -> None:
    assert ignored(allow_hosts_regex(HOSTS), address, sni) is (not intercepted)
