"""The proxy's certificate authority, and a trust bundle for Go programs.

The CA. mitmproxy signs a leaf certificate for every host it intercepts with the CA in its
confdir, and creates an unconstrained one if there is none. `init_ca`/`ensure_ca` create it
first, in mitmproxy's own file names and formats, with an X.509 name-constraints extension
that permits only the Google API hosts we intercept: a client that enforces RFC 5280 (OpenSSL,
Go, NSS, BoringSSL) rejects a leaf for any other DNS name, so the CA (or its key) cannot be
used to impersonate the rest of the web. `allow_hosts_regex` makes mitmproxy tunnel everything
else untouched, so it never even tries.

The bundle. Go programs such as the Antigravity language server read `SSL_CERT_FILE` *instead
of* the system store (antigravity.md 2.1), so pointing them at mitmproxy's CA alone would break
every connection the proxy does not intercept. The bundle is the system store followed by our
CA. It is written world-readable, so only certificates ever go in: our CA is re-encoded from its
parsed form (a `mitmproxy-ca.pem` with the private key in it yields only its certificate) and
a system store holding anything but certificates is refused.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import ssl
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mitmproxy.certs import DEFAULT_DHPARAM

log = logging.getLogger(__name__)

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


# The CA -----------------------------------------------------------------------------------
#
# File names and formats are mitmproxy's (certs.CertStore.create_store, basename "mitmproxy"):
# `CertStore.from_store` loads `mitmproxy-ca.pem` (key + certificate) when it exists and only
# generates its own CA when it does not.

CA_KEY_NAME = "mitmproxy-ca.pem"
"""The private key followed by the CA certificate: what mitmproxy signs leaves with. 0600."""
CA_KEY_P12_NAME = "mitmproxy-ca.p12"
"""The key and certificate as PKCS#12 (no password), for Windows. 0600."""
CA_CERT_CER_NAME = "mitmproxy-ca-cert.cer"
"""The public certificate again, PEM under the name Android wants. 0644."""
CA_CERT_P12_NAME = "mitmproxy-ca-cert.p12"
"""The public certificate as PKCS#12, for Windows. 0644."""
DHPARAM_NAME = "mitmproxy-dhparam.pem"
"""mitmproxy's fixed DH parameters (created by mitmproxy too if missing). 0644."""

CA_KEY_SIZE = 3072
"""RSA, as mitmproxy expects (it types the CA key as RSA and uses it as every leaf's key too)."""
CA_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COMMON_NAME, "zerogravity-proxy CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "zerogravity-proxy"),
    ]
)
_BACKDATE = datetime.timedelta(days=2)  # as mitmproxy: clients with slow clocks
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class CaError(Exception):
    """The CA cannot be created or read; the message says what to do."""


@dataclass(frozen=True, slots=True)
class CaInfo:
    """What `ca show` prints about the CA in a confdir."""

    path: Path
    """The public certificate, the file clients should trust."""
    subject: str
    fingerprint: str
    """SHA-256 of the DER certificate, colon-separated upper-case hex (as `openssl x509`)."""
    not_before: datetime.datetime
    not_after: datetime.datetime
    permitted_hosts: tuple[str, ...] | None
    """DNS names it may sign for (each with its subdomains); None: any (e.g. mitmproxy's own)."""
    key_type: str

    def describe(self) -> str:
        if self.permitted_hosts is None:
            permits = "ANY host name (unconstrained; replace it: zerogravity-proxy ca init --force)"
        else:
            permits = ", ".join(self.permitted_hosts) + " (each with its subdomains)"
        return "\n".join(
            [
                f"certificate: {self.path}",
                f"subject:     {self.subject}",
                f"sha256:      {self.fingerprint}",
                f"valid:       {self.not_before:%Y-%m-%d %H:%M} to "
                f"{self.not_after:%Y-%m-%d %H:%M} UTC",
                f"key:         {self.key_type}",
                f"permits:     {permits}",
            ]
        )


def init_ca(
    confdir: Path, hosts: Sequence[str], *, force: bool = False, days: int = 3650
) -> CaInfo:
    """Create a CA in `confdir` that may only sign for `hosts`; refuse to replace one unless force.

    The certificate carries, besides basicConstraints (CA, pathlen 0), keyUsage (keyCertSign,
    cRLSign), extendedKeyUsage (serverAuth) and a subjectKeyIdentifier, a critical
    nameConstraints extension with one permitted dNSName subtree per host and no excluded
    subtrees. Per RFC 5280 4.2.1.10 a dNSName subtree matches the name itself and any name made
    by adding labels on the left: `generativelanguage.googleapis.com` permits that host and
    `eu.generativelanguage.googleapis.com`, but not `googleapis.com` or
    `evilgenerativelanguage.googleapis.com`. A leaf with any other DNS name, in its
    subjectAltName or (lacking DNS SANs) its common name, fails verification. Constraints
    restrict only the name types they list: IP-address SANs stay unconstrained, because in
    transparent mode mitmproxy puts the destination IP into every leaf beside the SNI name.

    Files are written atomically with explicit modes (key files 0600, public ones 0644, the
    directory 0700); the key file goes last, so `mitmproxy-ca.pem` exists only with a
    complete, matching set beside it.
    """
    names = _dns_names(hosts)
    if days < 1:
        raise CaError(f"days: {days} is not a positive number of days")
    key_file = confdir / CA_KEY_NAME
    if key_file.exists() and not force:
        raise CaError(
            f"{key_file} exists: {confdir} already holds a CA. Replacing it breaks every client "
            "that trusts it; use --force (force=True) to replace it anyway"
        )
    key, cert = _build_ca(names, days)
    try:
        confdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        confdir.chmod(0o700)
        key_file.unlink(missing_ok=True)  # until the end: no CA rather than a mismatched one
        _write_public_files(confdir, cert)
        p12 = pkcs12.serialize_key_and_certificates(b"mitmproxy", key, cert, None, NoEncryption())
        _write_atomically(confdir / CA_KEY_P12_NAME, p12, 0o600)
        key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())
        _write_atomically(key_file, key_pem + cert.public_bytes(Encoding.PEM), 0o600)
    except OSError as e:
        raise CaError(f"cannot write the CA into {confdir}: {e}") from None
    return _info(confdir, cert)


def ensure_ca(confdir: Path, hosts: Sequence[str]) -> CaInfo:
    """The CA in `confdir`, created for `hosts` if there is none (call before mitmproxy loads it).

    An existing CA is never replaced: if its constraints differ from `hosts`, or it has none,
    this logs a warning saying how to replace it. Missing or stale public copies of its
    certificate (`mitmproxy-ca-cert.*`) are rewritten from `mitmproxy-ca.pem`.
    """
    names = _dns_names(hosts)
    if not (confdir / CA_KEY_NAME).exists():
        info = init_ca(confdir, names)
        log.info("created CA %s (sha256 %s) for %s", info.path, info.fingerprint, ", ".join(names))
        return info
    cert = _load_ca_cert(confdir)
    info = _info(confdir, cert)
    replace = "replace it with `zerogravity-proxy ca init --force`, then re-trust it"
    if info.permitted_hosts is None:
        log.warning("CA %s is unconstrained: it can sign for any host name; %s", info.path, replace)
    elif set(info.permitted_hosts) != set(names):
        uncovered = [h for h in names if not any(_within(h, p) for p in info.permitted_hosts)]
        log.warning(
            "CA %s permits %s but the intercepted hosts are %s%s; keeping it: %s",
            info.path,
            ", ".join(info.permitted_hosts),
            ", ".join(names),
            f" (clients will reject leaves for {', '.join(uncovered)})" if uncovered else "",
            replace,
        )
    if not _public_cert_matches(confdir, cert):
        log.warning("%s is missing or stale: rewriting it from %s", info.path, CA_KEY_NAME)
        try:
            _write_public_files(confdir, cert)
        except OSError as e:
            raise CaError(f"cannot write {info.path}: {e}") from None
    return info


def show_ca(confdir: Path) -> CaInfo:
    """Describe the CA mitmproxy would use from `confdir` (the one in `mitmproxy-ca.pem`)."""
    return _info(confdir, _load_ca_cert(confdir))


def export_ca(confdir: Path) -> str:
    """The CA certificate as PEM: public, never the key."""
    return _load_ca_cert(confdir).public_bytes(Encoding.PEM).decode("ascii")


def allow_hosts_regex(hosts: Sequence[str]) -> list[str]:
    """mitmproxy `allow_hosts` entries intercepting exactly `hosts` and their subdomains.

    mitmproxy (addons/next_layer.py, `_ignore_connection`) `re.search`es each entry,
    case-insensitively, in `host:port` strings built from the server address (the CONNECT
    target in regular mode, the destination IP in transparent mode), the server's peer
    address, an HTTP Host header and the TLS SNI, each with the port appended. A connection
    matching none of them is tunnelled untouched. Hence the anchors and the `:port` suffix.
    """
    return [rf"^(?:[a-z0-9-]+\.)*{name.replace('.', r'\.')}:\d+$" for name in _dns_names(hosts)]


def _dns_names(hosts: Sequence[str]) -> tuple[str, ...]:
    """`hosts` as lower-case ASCII (IDNA) DNS names, deduplicated; CaError if one is not."""
    names: dict[str, None] = {}
    for host in hosts:
        try:
            name = host.strip().lower().encode("idna").decode("ascii")
        except UnicodeError:
            name = ""
        labels = name.split(".")
        if (
            len(name) > 253
            or len(labels) < 2
            or labels[-1].isdigit()
            or not all(_LABEL.fullmatch(label) for label in labels)
        ):
            raise CaError(
                f"{host!r} is not a host name such as generativelanguage.googleapis.com "
                "(no wildcards, ports, IP addresses, or leading or trailing dots)"
            )
        names[name] = None
    if not names:
        raise CaError("no hosts: a CA constrained to no names could sign nothing")
    return tuple(names)


def _within(name: str, subtree: str) -> bool:
    """RFC 5280 dNSName subtree matching (both already lower-case ASCII)."""
    return name == subtree or name.endswith("." + subtree)


def _build_ca(names: tuple[str, ...], days: int) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_SIZE)
    now = datetime.datetime.now(datetime.UTC)
    usage = x509.KeyUsage(
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
    builder = (
        x509.CertificateBuilder()
        .subject_name(CA_SUBJECT)
        .issuer_name(CA_SUBJECT)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=[x509.DNSName(name) for name in names],
                excluded_subtrees=None,
            ),
            critical=True,
        )
    )
    return key, builder.sign(key, hashes.SHA256())


def _write_public_files(confdir: Path, cert: x509.Certificate) -> None:
    pem = cert.public_bytes(Encoding.PEM)
    p12 = pkcs12.serialize_key_and_certificates(b"mitmproxy", None, cert, None, NoEncryption())
    _write_atomically(confdir / CA_CERT_P12_NAME, p12, 0o644)
    _write_atomically(confdir / CA_CERT_CER_NAME, pem, 0o644)
    _write_atomically(confdir / CA_CERT_NAME, pem, 0o644)
    if not (confdir / DHPARAM_NAME).exists():
        _write_atomically(confdir / DHPARAM_NAME, DEFAULT_DHPARAM, 0o644)


def _public_cert_matches(confdir: Path, cert: x509.Certificate) -> bool:
    try:
        return x509.load_pem_x509_certificates((confdir / CA_CERT_NAME).read_bytes()) == [cert]
    except (OSError, ValueError):
        return False


def _load_ca_cert(confdir: Path) -> x509.Certificate:
    """The first certificate in `mitmproxy-ca.pem`, as mitmproxy reads it."""
    path = confdir / CA_KEY_NAME
    if not path.exists():
        raise CaError(
            f"no CA in {confdir} ({CA_KEY_NAME} is missing): run `zerogravity-proxy ca init`, "
            "or start the daemon, which creates one"
        )
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())[0]
    except OSError as e:
        raise CaError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise CaError(f"{path}: no PEM certificate ({e})") from None


def _info(confdir: Path, cert: x509.Certificate) -> CaInfo:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        dns: list[str] = []
    else:
        permitted = constraints.permitted_subtrees or []
        dns = [n.value for n in permitted if isinstance(n, x509.DNSName)]
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_type = f"RSA {key.key_size}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type = f"EC {key.curve.name}"
    else:
        key_type = type(key).__name__.removesuffix("PublicKey").lstrip("_")
    return CaInfo(
        path=confdir / CA_CERT_NAME,
        subject=cert.subject.rfc4514_string(),
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        # Constraints apply per name type: without a permitted dNSName, any DNS name goes.
        permitted_hosts=tuple(dns) if dns else None,
        key_type=key_type,
    )
