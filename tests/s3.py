"""A real S3 HTTP API for tests: moto's server mode, started as a subprocess.

``MotoS3`` runs ``moto_server`` on a free port; ``bucket(name)`` creates a bucket and
``settings_for(settings, data_dir, bucket)`` points a copy of the settings at it.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.servers import free_port

ACCESS_KEY, SECRET_KEY = "portal-test-key", "portal-test-secret"


class MotoS3:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> MotoS3:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                return self
            except httpx.HTTPError:
                if self.process.poll() is not None:
                    raise RuntimeError("moto_server exited at start") from None
                time.sleep(0.1)
        raise RuntimeError("moto_server did not answer within 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def __enter__(self) -> MotoS3:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def bucket(self, name: str) -> str:
        response = httpx.put(f"{self.url}/{name}")
        assert response.status_code == 200, response.text
        return name

    def client(self):
        """boto3 (moto's own dependency): a second, independent S3 client to look with."""
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def keys(self, bucket: str) -> dict[str, int]:
        """Every object's key and size."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}

    def object(self, bucket: str, key: str) -> tuple[bytes, str]:
        """An object's bytes and its stored Content-Type."""
        found = self.client().get_object(Bucket=bucket, Key=key)
        return found["Body"].read(), found["ContentType"]

    def environment(self, bucket: str, prefix: str = "blobs") -> dict[str, str]:
        """The settings' environment variables of a bucket on this server."""
        return {"PORTAL_STORAGE_URL": f"s3://{bucket}/{prefix}", "PORTAL_S3_ENDPOINT": self.url,
                "PORTAL_S3_REGION": "us-east-1", "PORTAL_S3_ACCESS_KEY_ID": ACCESS_KEY,
                "PORTAL_S3_SECRET_ACCESS_KEY": SECRET_KEY}


def settings_for(settings, data_dir: Path, s3: MotoS3, bucket: str, prefix: str = "blobs", **changes):
    """``settings`` with its blobs in ``bucket`` of ``s3`` and its local state in ``data_dir``."""
    return dataclasses.replace(
        settings, data_dir=data_dir, storage_url=f"s3://{bucket}/{prefix}", s3_endpoint=s3.url,
        s3_region="us-east-1", s3_access_key_id=ACCESS_KEY, s3_secret_access_key=SECRET_KEY, **changes,
    )
