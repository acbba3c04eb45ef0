"""Test certificates made with `cryptography`: a CA, a server certificate and a client certificate.

No `openssl` command needed. Keys are P-256 (fast to generate); the server certificate
is valid for `localhost` and `127.0.0.1`.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pki:
    """PEM file paths: the CA, the server's pair and a client's pair signed by the CA."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, issuer: x509.Name, issuer_key, extensions: list) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(folder: Path, name: str, certificate: x509.Certificate, key) -> tuple[str, str]:
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return str(cert_path), str(key_path)


def _leaf(name: str, usage, ca_name: x509.Name, ca_key, extra: list | None = None):
    key = ec.generate_private_key(ec.SECP256R1())
    extensions = [(x509.BasicConstraints(ca=False, path_length=None), True),
                  (x509.ExtendedKeyUsage([usage]), False), *(extra or [])]
    return _certificate(name, key, ca_name, ca_key, extensions), key


def make_pki(folder: Path) -> Pki:
    """Write a CA, a server pair (localhost, 127.0.0.1) and a client pair into `folder`."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("kubespan test CA")
    ca_extensions = [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                       encipher_only=False, decipher_only=False), True),
        (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False),
    ]
    ca = _certificate("kubespan test CA", ca_key, ca_name, ca_key, ca_extensions)
    ca_path, _ = _write(folder, "ca", ca, ca_key)
    names = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    authority = (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
    server = _leaf("localhost", ExtendedKeyUsageOID.SERVER_AUTH, ca_name, ca_key, [(names, False), authority])
    client = _leaf("kubespan test client", ExtendedKeyUsageOID.CLIENT_AUTH, ca_name, ca_key, [authority])
    server_cert, server_key = _write(folder, "server", *server)
    client_cert, client_key = _write(folder, "client", *client)
    return Pki(ca_path, server_cert, server_key, client_cert, client_key)
