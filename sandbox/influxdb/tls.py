"""Self-signed TLS for the sandbox InfluxDB server.

``ensure_tls(directory)`` creates (once) a CA and a server certificate for 127.0.0.1 and localhost
signed by it, and returns their paths. Clients verify the server with ``ca.pem`` (the modules'
``ca_path``); without it verification fails, as it would against a real private CA.

``files.for_address("127.0.0.5")`` gives (creating it once, signed by the same CA) a server
certificate naming that address (IP SAN) and localhost: the instance manager gives each sandbox
Timestream instance its own loopback address, and its certificate names it, as an AWS instance's
certificate names its endpoint host.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_lock = threading.Lock()


@dataclass(frozen=True)
class TLSFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    ca_key: Path | None = None

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(self.server_cert), str(self.server_key))
        return ctx

    def for_address(self, address: str) -> TLSFiles:
        """The files of a server certificate for ``address`` (an IP), signed by this CA."""
        ip = ipaddress.ip_address(address)
        if self.ca_key is None:
            raise ValueError("this CA's key is not available: cannot issue a certificate for " + address)
        directory = self.ca_cert.parent / "hosts"
        files = TLSFiles(self.ca_cert, directory / f"{ip}.pem", directory / f"{ip}-key.pem", self.ca_key)
        with _lock:
            if files.server_cert.exists() and files.server_key.exists():
                return files
            directory.mkdir(parents=True, exist_ok=True)
            ca_key = serialization.load_pem_private_key(self.ca_key.read_bytes(), password=None)
            ca_cert = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
            key, cert = _server_certificate(ca_key, ca_cert.subject, [x509.IPAddress(ip), x509.DNSName("localhost")],
                                            str(ip))
            _write_server(files, key, cert)
            return files


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ons sandbox"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _validity() -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    return now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=365)


def _server_certificate(ca_key, ca_name: x509.Name, names: list[x509.GeneralName], common_name: str):
    not_before, not_after = _validity()
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write_server(files: TLSFiles, key, cert) -> None:
    files.server_key.write_bytes(_pem_key(key))
    files.server_key.chmod(0o600)
    files.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_tls(directory: Path) -> TLSFiles:
    directory = Path(directory)
    files = TLSFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem",
                     directory / "ca-key.pem")
    with _lock:
        if all(p.exists() for p in (files.ca_cert, files.server_cert, files.server_key, files.ca_key)):
            return files
        # (a directory from before the CA key was kept gets a new CA: per-address certificates need it)
        directory.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(directory / "hosts", ignore_errors=True)
        not_before, not_after = _validity()

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("ons sandbox InfluxDB CA")
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )

        key, cert = _server_certificate(
            ca_key, ca_name, [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
            "localhost")
        _write_server(files, key, cert)
        files.ca_key.write_bytes(_pem_key(ca_key))
        files.ca_key.chmod(0o600)
        files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        return files
