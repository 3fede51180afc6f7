"""HTTPS with `--tls-cert/--tls-key`, using a self-signed certificate made by `openssl`."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from .conftest import StartServer, free_port, run_cli

pytestmark = pytest.mark.e2e


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_with_a_self_signed_certificate(start_server: StartServer, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    server = start_server("--tls-cert", str(cert), "--tls-key", str(key), verify=trust)
    assert server.base_url.startswith("https://")
    assert f"millpond is serving {server.base_url}" in server.stdout()

    assert server.client.get("/health").json() == {"status": "success"}
    assert server.upload("over TLS\nsecond line").json() == {"status": "success"}
    assert server.messages() == ["over TLS", "second line"]

    # What most people do with a self-signed certificate: skip verification.
    with httpx.Client(base_url=server.base_url, verify=False) as insecure:
        assert insecure.get("/health").status_code == 200
        assert insecure.post(
            "/api/uploadLogs", params={"token": server.write_token}, content=b"unverified"
        ).json() == {"status": "success"}
    assert server.messages() == ["over TLS", "second line", "unverified"]

    # Plain HTTP on the HTTPS port gets nothing, and an untrusting client refuses the server.
    plain_url = server.base_url.replace("https", "http")
    with httpx.Client(base_url=plain_url, timeout=5) as plain, pytest.raises(
        httpx.TransportError
    ):
        plain.get("/health")
    with httpx.Client(base_url=server.base_url, timeout=5) as default, pytest.raises(
        httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"
    ):
        default.get("/health")


def test_tls_cert_without_key_is_refused(tmp_path: Path) -> None:
    result = run_cli(
        "serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()),
        "--tls-cert", str(tmp_path / "cert.pem"),
    )
    assert result.returncode == 2
    assert "--tls-cert and --tls-key must be given together" in result.stderr
