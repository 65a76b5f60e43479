"""Throw-away certificates for the servers the harness starts with ``--tls``: a CA of the state
directory's own and one server certificate for every node address, made with the
``cryptography`` package (no key ever passes through a command line), private keys written
0600. ``chaos down`` removes them with the topology's directory."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "server-cert.pem", "server-key.pem"
CA_KEY_FILE = "ca-key.pem"
VALID_DAYS = 7  # long enough for a kept pair (--keep), short enough to be obviously throw-away


@dataclass(frozen=True)
class TlsFiles:
    """Where a node's (or the harness's) TLS files are."""

    ca: Path
    cert: Path
    key: Path


def _write_key(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def make_certificates(directory: Path, hosts: list[str], name: str = "chaos") -> TlsFiles:
    """A CA and a server certificate (also good as a client's) for ``hosts`` (IP addresses or
    names) in ``directory``; returns the server's files (the CA's key stays beside them)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # a little slack for clocks behind
    until = now + dt.timedelta(days=VALID_DAYS)

    def pem_key(key: Any) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} throw-away CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(until)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} server")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(until)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = TlsFiles(directory / CA_FILE, directory / CERT_FILE, directory / KEY_FILE)
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(files.key, pem_key(key))
    _write_key(directory / CA_KEY_FILE, pem_key(ca_key))
    return files


def copy_to(files: TlsFiles, directory: Path) -> TlsFiles:
    """The server's files copied into a node's own directory (a container sees only that)."""
    directory.mkdir(parents=True, exist_ok=True)
    out = TlsFiles(directory / CA_FILE, directory / CERT_FILE, directory / KEY_FILE)
    out.ca.write_bytes(files.ca.read_bytes())
    out.cert.write_bytes(files.cert.read_bytes())
    _write_key(out.key, files.key.read_bytes())
    return out


def pymysql_args(ca: Path | str | None) -> dict[str, Any]:
    """PyMySQL's arguments for TLS that verifies the server against ``ca`` (its certificate and
    the address it was reached at); {} without a CA (plain TCP)."""
    if not ca:
        return {}
    return {"ssl_ca": str(ca), "ssl_verify_cert": True, "ssl_verify_identity": True}
