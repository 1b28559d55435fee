"""HTTPS for ``loancheck serve``: phones grant camera access only on https (or localhost).

Either the operator's certificate (``LOANCHECK_TLS_CERT`` + ``LOANCHECK_TLS_KEY``) or, for LAN
trials, a self-signed one generated once into ``DATA_DIR/tls/`` for this machine's names
and addresses (``LOANCHECK_TLS_SELF_SIGNED=true``).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from loancheck.settings import PREFIX, ConfigError, Settings

SELF_SIGNED_DAYS = 365


def local_addresses() -> list[str]:
    """This machine's name and the IPv4 addresses it resolves to (for LAN phones; the host
    of LOANCHECK_PUBLIC_URL is always added too)."""
    found = {"127.0.0.1", socket.gethostname()}
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(str(info[4][0]))
    except OSError:
        pass
    return sorted(found)


def generate_self_signed(cert_path: Path, key_path: Path, names: list[str]) -> None:
    """Write a self-signed ECDSA certificate valid for ``names`` (host names or IPs)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LoanCheck LAN trial")])
    alternatives: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def server_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context ``serve`` listens with, or None for plain http."""
    if settings.tls_cert:
        cert, key = Path(settings.tls_cert), Path(settings.tls_key)
        for name, path in (("TLS_CERT", cert), ("TLS_KEY", key)):
            if not path.is_file():
                raise ConfigError(PREFIX + name, f"no such file: {path}")
    elif settings.tls_self_signed:
        folder = settings.data_dir / "tls"
        cert, key = folder / "cert.pem", folder / "key.pem"
        if not cert.exists():
            host = urlsplit(settings.public_url).hostname or "localhost"
            generate_self_signed(cert, key, ["localhost", host, *local_addresses()])
    else:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(PREFIX + "TLS_CERT", f"cannot load the certificate/key: {exc}") from None
    return context
