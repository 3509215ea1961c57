"""A CA bundle that trusts both the system's CAs and our mitmproxy CA.

Go programs such as the Antigravity language server read `SSL_CERT_FILE` *instead of* the
system store (antigravity.md 2.1), so pointing them at mitmproxy's CA alone would break every
connection the proxy does not intercept. The bundle is the system store followed by our CA.
It is written world-readable, so only certificates ever go in: our CA is re-encoded from its
parsed form (a `mitmproxy-ca.pem` with the private key in it yields only its certificate) and
a system store holding anything but certificates is refused.
"""

from __future__ import annotations

import os
import re
import ssl
import tempfile
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

SYSTEM_BUNDLES: tuple[Path, ...] = (
    Path("/etc/ssl/certs/ca-certificates.crt"),  # Debian, Ubuntu, Alpine, Arch
    Path("/etc/pki/tls/certs/ca-bundle.crt"),  # Fedora, RHEL
    Path("/etc/ssl/cert.pem"),  # macOS, BSDs
)

CA_CERT_NAME = "mitmproxy-ca-cert.pem"
"""The public CA certificate mitmproxy writes into its confdir on first start."""

_PEM_BEGIN = re.compile(rb"-----BEGIN ([^-\r\n]*)-----")


class TrustBundleError(Exception):
    """The bundle cannot be built; the message says what to do."""


def system_bundle_path() -> Path | None:
    """The first existing usual system CA file, else what Python's OpenSSL was built with."""
    for candidate in SYSTEM_BUNDLES:
        if candidate.is_file():
            return candidate
    cafile = ssl.get_default_verify_paths().cafile
    return Path(cafile) if cafile and Path(cafile).is_file() else None


def trust_bundle(ca_cert: Path, out: Path, *, system_bundle: Path | None = None) -> Path:
    """Write `out` = system CA store + our CA certificate, mode 0644, atomically; return `out`.

    Everything is checked before anything is written, and the file is replaced by a rename, so
    a reader (an LS starting up) sees the old bundle or the new one, never half of one.
    """
    ca_pem = _our_ca(ca_cert)
    source = system_bundle or system_bundle_path()
    if source is None:
        raise TrustBundleError(
            "no system CA store found (looked at "
            + ", ".join(str(p) for p in SYSTEM_BUNDLES)
            + "); install ca-certificates or pass the store's path"
        )
    system = _read(source, "system CA store")
    _check_certificates(system, source)
    content = (system if system.endswith(b"\n") else system + b"\n") + ca_pem
    _check_certificates(content, out)
    _write_atomically(out, content, 0o644)
    return out


def _our_ca(path: Path) -> bytes:
    """Our CA certificate as PEM, after checking it is exactly one CA certificate."""
    if not path.is_file():
        raise TrustBundleError(
            f"mitmproxy CA certificate {path} does not exist: start the daemon once so "
            f"mitmproxy creates {CA_CERT_NAME} in its confdir (setting `confdir`, default "
            "<state_dir>/mitmproxy), or pass the right path"
        )
    data = _read(path, "CA certificate")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise TrustBundleError(f"{path}: not a PEM certificate ({e})") from None
    if len(certs) != 1:
        raise TrustBundleError(f"{path}: expected one CA certificate, found {len(certs)}")
    cert = certs[0]
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise TrustBundleError(
            f"{path}: {cert.subject.rfc4514_string()} is not a CA certificate "
            "(no basicConstraints CA:TRUE); pass mitmproxy's CA, not a leaf"
        )
    return cert.public_bytes(Encoding.PEM)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise TrustBundleError(f"cannot read {what} {path}: {e.strerror}") from None


def _check_certificates(data: bytes, origin: Path) -> None:
    """Every PEM block must be a certificate that parses: no keys, no OpenSSL-only blocks."""
    labels = _PEM_BEGIN.findall(data)
    if not labels:
        raise TrustBundleError(f"{origin}: holds no PEM certificates")
    others = sorted({label.decode(errors="replace") for label in labels} - {"CERTIFICATE"})
    if others:
        raise TrustBundleError(f"{origin}: holds PEM blocks other than certificates: {others}")
    try:
        # Distribution stores carry certificates newer cryptography warns about (negative
        # serial numbers); not ours to fix and harmless for trust.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise TrustBundleError(f"{origin}: a certificate does not parse ({e})") from None
    if len(certs) != len(labels):
        raise TrustBundleError(
            f"{origin}: {len(labels)} PEM blocks but {len(certs)} certificates parse"
        )


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
