"""Pebble, Let's Encrypt's test ACME CA (Debian's package), run by the tests on loopback.

Its own HTTPS listener needs a certificate, which the Debian package does not ship: one
is made here with ``cryptography``, under a root of ours (``listener_root``: give it to
Caddy as ``acme_ca_root``). The certificates pebble issues chain to another root, made
at its start and served by its management API (``issuing_root()``). Pebble validates
HTTP-01 challenges by asking ``dns_server`` for the domain's address and connecting to
``http_port`` there: Caddy's HTTP port.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.servers import free_port


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def make_listener_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """(root, certificate, key) PEM files: a root and a leaf for 127.0.0.1 / localhost."""
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal tests: pebble listener root")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name).public_key(root_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(root_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])).issuer_name(root_name)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(root_key, hashes.SHA256()))
    paths = folder / "listener-root.pem", folder / "listener.pem", folder / "listener.key"
    paths[0].write_bytes(root.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(_key_pem(leaf_key))
    return paths


class Pebble:
    def __init__(self, folder: Path, dns_server: str, http_port: int, https_port: int) -> None:
        self.folder = folder
        self.listener_root, certificate, key = make_listener_certificate(folder)
        self.port, self.management_port = free_port(), free_port()
        config = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}", "managementListenAddress": f"127.0.0.1:{self.management_port}",
            "certificate": str(certificate), "privateKey": str(key), "httpPort": http_port, "tlsPort": https_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        (folder / "pebble.json").write_text(json.dumps(config))
        self.log = open(folder / "pebble.log", "w")
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
        self.process = subprocess.Popen(["pebble", "-config", str(folder / "pebble.json"), "-dnsserver", dns_server],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pebble did not start: {(folder / 'pebble.log').read_text()}") from None
                time.sleep(0.1)

    @property
    def directory(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    def issuing_root(self) -> str:
        """PEM of the root that pebble's certificates chain to."""
        return httpx.get(f"https://127.0.0.1:{self.management_port}/roots/0", verify=ssl.create_default_context(
            cafile=str(self.listener_root))).text

    def orders_for(self, name: str) -> int:
        """How many times pebble's log mentions an order or authorization for ``name``."""
        self.log.flush()
        return (self.folder / "pebble.log").read_text().count(name)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class _Connection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with ``host`` as the server name (SNI and Host), as a browser
    that resolved ``host`` to this machine would speak."""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def https_get(host: str, port: int, path: str, root: str) -> tuple[int, dict, str, dict]:
    """(status, headers, body, the server's certificate) of GET ``path``; ssl.SSLError when
    the handshake fails or the certificate does not chain to ``root``."""
    status, headers, body, certificate, _ = https_request(host, port, "GET", path, root)
    return status, headers, body, certificate


def https_request(host: str, port: int, method: str, path: str, root: str, headers: dict | None = None,
                  body: str | None = None) -> tuple[int, dict, str, dict, list[str]]:
    """``https_get`` for any method, with headers and a body; also the Set-Cookie headers."""
    context = ssl.create_default_context(cadata=root)
    connection = _Connection(host, port, context=context, timeout=20)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        certificate = connection.sock.getpeercert()
        cookies = response.msg.get_all("Set-Cookie") or []
        return response.status, dict(response.getheaders()), response.read().decode(), certificate, cookies
    finally:
        connection.close()


def names_in(certificate: dict) -> list[str]:
    return [value for kind, value in certificate.get("subjectAltName", ()) if kind == "DNS"]
