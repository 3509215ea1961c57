"""The Go trust bundle: system store + our CA, checked, world-readable, written atomically."""

from __future__ import annotations

import datetime
import os
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import NameOID

from zerogravity_proxy import ca as ca_module
from zerogravity_proxy.ca import TrustBundleError, system_bundle_path, trust_bundle

NOW = datetime.datetime.now(datetime.UTC)


def make_cert(
    name: str,
    *,
    ca: bool | None,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate; `ca=None` leaves basicConstraints out altogether."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=365))
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    return builder.sign(signer, hashes.SHA256()), key


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


@pytest.fixture
def our_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    return make_cert("mitmproxy", ca=True)


@pytest.fixture
def ca_file(tmp_path: Path, our_ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]) -> Path:
    path = tmp_path / "confdir" / "mitmproxy-ca-cert.pem"
    path.parent.mkdir()
    path.write_bytes(pem(our_ca[0]))
    return path


@pytest.fixture
def system_certs() -> list[x509.Certificate]:
    return [make_cert(f"System Root {i}", ca=True)[0] for i in range(2)]


@pytest.fixture
def system_file(tmp_path: Path, system_certs: list[x509.Certificate]) -> Path:
    path = tmp_path / "ca-certificates.crt"
    # Comment lines between blocks, as distribution bundles sometimes have.
    path.write_bytes(b"# System Root 0\n" + pem(system_certs[0]) + b"\n" + pem(system_certs[1]))
    return path


@pytest.fixture
def umask_077() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


# --- content ---------------------------------------------------------------------------------


def test_bundle_is_system_store_then_our_ca(
    tmp_path: Path,
    ca_file: Path,
    system_file: Path,
    system_certs: list[x509.Certificate],
    our_ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    out = tmp_path / "out" / "bundle.pem"
    assert trust_bundle(ca_file, out, system_bundle=system_file) == out
    assert out.read_bytes() == system_file.read_bytes() + pem(our_ca[0])
    parsed = x509.load_pem_x509_certificates(out.read_bytes())
    assert parsed == [*system_certs, our_ca[0]]


def test_a_missing_final_newline_is_added(
    tmp_path: Path, ca_file: Path, system_certs: list[x509.Certificate]
) -> None:
    system = tmp_path / "system.pem"
    system.write_bytes(pem(system_certs[0]).rstrip(b"\n"))
    out = trust_bundle(ca_file, tmp_path / "bundle.pem", system_bundle=system)
    assert out.read_bytes() == pem(system_certs[0]) + ca_file.read_bytes()
    assert len(x509.load_pem_x509_certificates(out.read_bytes())) == 2


def test_a_ca_file_with_its_private_key_contributes_only_the_certificate(
    tmp_path: Path,
    system_file: Path,
    our_ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    # mitmproxy-ca.pem holds the key and the certificate; the bundle is world-readable.
    combined = tmp_path / "mitmproxy-ca.pem"
    combined.write_bytes(key_pem(our_ca[1]) + pem(our_ca[0]))
    out = trust_bundle(combined, tmp_path / "bundle.pem", system_bundle=system_file)
    assert b"PRIVATE KEY" not in out.read_bytes()
    assert out.read_bytes().endswith(pem(our_ca[0]))


def test_the_ca_mitmproxy_writes_is_accepted(tmp_path: Path, system_file: Path) -> None:
    from mitmproxy.certs import CertStore

    confdir = tmp_path / "mitmproxy"
    confdir.mkdir()
    CertStore.from_store(confdir, "mitmproxy", 2048)
    out = trust_bundle(
        confdir / "mitmproxy-ca-cert.pem", tmp_path / "bundle.pem", system_bundle=system_file
    )
    assert out.read_bytes().endswith((confdir / "mitmproxy-ca-cert.pem").read_bytes())


# --- refusals --------------------------------------------------------------------------------


def test_missing_ca_says_to_start_the_daemon(tmp_path: Path, system_file: Path) -> None:
    missing = tmp_path / "confdir" / "mitmproxy-ca-cert.pem"
    with pytest.raises(TrustBundleError) as e:
        trust_bundle(missing, tmp_path / "bundle.pem", system_bundle=system_file)
    message = str(e.value)
    assert str(missing) in message
    assert "start the daemon once" in message
    assert "confdir" in message
    assert not (tmp_path / "bundle.pem").exists()


@pytest.mark.parametrize("ca", [False, None], ids=["ca-false", "no-basic-constraints"])
def test_a_non_ca_certificate_is_refused(
    tmp_path: Path,
    system_file: Path,
    our_ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    ca: bool | None,
) -> None:
    leaf, _ = make_cert("cloudcode-pa.googleapis.com", ca=ca, issuer=our_ca)
    leaf_file = tmp_path / "leaf.pem"
    leaf_file.write_bytes(pem(leaf))
    with pytest.raises(TrustBundleError, match="is not a CA certificate"):
        trust_bundle(leaf_file, tmp_path / "bundle.pem", system_bundle=system_file)
    assert not (tmp_path / "bundle.pem").exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a PEM certificate"),
        (b"hello", "not a PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a PEM"),
    ],
)
def test_an_unreadable_ca_file_is_refused(
    tmp_path: Path, system_file: Path, content: bytes, match: str
) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_bytes(content)
    with pytest.raises(TrustBundleError, match=match):
        trust_bundle(bad, tmp_path / "bundle.pem", system_bundle=system_file)


def test_a_ca_file_with_several_certificates_is_refused(
    tmp_path: Path, system_file: Path, system_certs: list[x509.Certificate]
) -> None:
    two = tmp_path / "two.pem"
    two.write_bytes(pem(system_certs[0]) + pem(system_certs[1]))
    with pytest.raises(TrustBundleError, match="expected one CA certificate, found 2"):
        trust_bundle(two, tmp_path / "bundle.pem", system_bundle=system_file)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "does not parse"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PRIVATE KEY"),
        (
            b"-----BEGIN TRUSTED CERTIFICATE-----\nAAAA\n-----END TRUSTED CERTIFICATE-----\n",
            "TRUSTED CERTIFICATE",
        ),
    ],
    ids=["bad-certificate", "private-key", "openssl-trusted"],
)
def test_a_system_store_with_a_bad_block_is_refused(
    tmp_path: Path,
    ca_file: Path,
    system_certs: list[x509.Certificate],
    extra: bytes,
    match: str,
) -> None:
    system = tmp_path / "system.pem"
    system.write_bytes(pem(system_certs[0]) + extra + pem(system_certs[1]))
    with pytest.raises(TrustBundleError, match=match):
        trust_bundle(ca_file, tmp_path / "bundle.pem", system_bundle=system)
    assert not (tmp_path / "bundle.pem").exists()


@pytest.mark.parametrize("content", [b"", b"# no certificates here\n"])
def test_an_empty_system_store_is_refused(tmp_path: Path, ca_file: Path, content: bytes) -> None:
    system = tmp_path / "system.pem"
    system.write_bytes(content)
    with pytest.raises(TrustBundleError, match="holds no PEM certificates"):
        trust_bundle(ca_file, tmp_path / "bundle.pem", system_bundle=system)


def test_a_missing_explicit_system_store_is_refused(tmp_path: Path, ca_file: Path) -> None:
    with pytest.raises(TrustBundleError, match="cannot read system CA store"):
        trust_bundle(ca_file, tmp_path / "bundle.pem", system_bundle=tmp_path / "nope.pem")


# --- finding the system store ----------------------------------------------------------------


def test_the_first_existing_usual_path_is_used(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ca_file: Path,
    system_file: Path,
    system_certs: list[x509.Certificate],
) -> None:
    later = tmp_path / "later.pem"
    later.write_bytes(pem(system_certs[1]))
    monkeypatch.setattr(ca_module, "SYSTEM_BUNDLES", (tmp_path / "absent.crt", system_file, later))
    assert system_bundle_path() == system_file
    out = trust_bundle(ca_file, tmp_path / "bundle.pem")
    assert out.read_bytes().startswith(system_file.read_bytes())


def test_openssls_default_cafile_is_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system_file: Path
) -> None:
    monkeypatch.setattr(ca_module, "SYSTEM_BUNDLES", (tmp_path / "absent.crt",))
    monkeypatch.setattr(
        ssl, "get_default_verify_paths", lambda: SimpleNamespace(cafile=str(system_file))
    )
    assert system_bundle_path() == system_file


def test_no_system_store_at_all_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ca_file: Path
) -> None:
    monkeypatch.setattr(ca_module, "SYSTEM_BUNDLES", (tmp_path / "absent.crt",))
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: SimpleNamespace(cafile=None))
    assert system_bundle_path() is None
    with pytest.raises(TrustBundleError, match="no system CA store found"):
        trust_bundle(ca_file, tmp_path / "bundle.pem")


# --- the write -------------------------------------------------------------------------------


@pytest.mark.usefixtures("umask_077")
def test_mode_is_0644_whatever_the_umask(tmp_path: Path, ca_file: Path, system_file: Path) -> None:
    out = trust_bundle(ca_file, tmp_path / "bundle.pem", system_bundle=system_file)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_an_existing_bundle_is_replaced_by_rename(
    tmp_path: Path, ca_file: Path, system_file: Path
) -> None:
    out = tmp_path / "bundle.pem"
    out.write_bytes(b"old bundle\n")
    out.chmod(0o600)
    held_open = out.open("rb")  # a reader that opened the old file keeps reading it whole
    old_inode = out.stat().st_ino
    trust_bundle(ca_file, out, system_bundle=system_file)
    assert out.stat().st_ino != old_inode
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert held_open.read() == b"old bundle\n"
    held_open.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bundle.pem",
        "ca-certificates.crt",
        "confdir",
    ]


def test_a_failed_write_leaves_the_old_bundle_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ca_file: Path, system_file: Path
) -> None:
    out = tmp_path / "bundle.pem"
    out.write_bytes(b"old bundle\n")

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        trust_bundle(ca_file, out, system_bundle=system_file)
    assert out.read_bytes() == b"old bundle\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bundle.pem",
        "ca-certificates.crt",
        "confdir",
    ]
