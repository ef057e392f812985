"""CI: build the container image and run it, with pebble as the ACME CA, on this machine.

    .venv/bin/python .ci/container_check.py

1. The base image named by the Containerfile's FROM is made here when it is missing
   (image registries are out of reach): Debian bookworm by debootstrap, with Python 3.11
   and pip where the official python image has them and the roots this machine trusts,
   imported with podman.
2. `buildah bud` builds the Containerfile (chroot isolation, vfs storage).
3. `podman run` (runc, host network) starts it against a DNS server and pebble started
   here; then: /healthz over HTTPS on the base host, the demo portal over HTTPS on a
   verified custom domain, and a restart that keeps the data and the certificate.

Prints what it checked and exits 1 on the first failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.dns_server import FakeDNS  # noqa: E402
from tests.pebble import Pebble, https_get, names_in  # noqa: E402
from tests.servers import free_port  # noqa: E402

STORAGE = ["--storage-driver", "vfs"]
IMAGE = "localhost/client-portal:ci"
NAME = "portal-ci"
BASE_HOST = "studio.portal.test"
DOMAIN = "portal.demo-agency.test"
BASE_ROOT = Path("/var/tmp/portal-ci-base")


def run(*command: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    print("$", " ".join(command), flush=True)
    result = subprocess.run(command, text=True, capture_output=True, **kwargs)
    if check and result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def base_image() -> str:
    source = (ROOT / "Containerfile").read_text()
    name = re.search(r"^FROM\s+(\S+)", source, re.M)[1]
    if run("podman", *STORAGE, "image", "exists", name, check=False).returncode == 0:
        print(f"base image {name}: present", flush=True)
        return name
    if not (BASE_ROOT / "usr/bin/python3").exists():
        shutil.rmtree(BASE_ROOT, ignore_errors=True)
        run("debootstrap", "--variant=minbase", "--include=python3,python3-venv,python3-pip,ca-certificates",
            "bookworm", str(BASE_ROOT), "http://deb.debian.org/debian", timeout=1800)
    # As in the official image: `python` and `pip` on the PATH, pip allowed to install.
    for link, target in (("usr/local/bin/python", "/usr/bin/python3"), ("usr/local/bin/pip", "/usr/bin/pip3")):
        path = BASE_ROOT / link
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_symlink():
            path.symlink_to(target)
    for marker in BASE_ROOT.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    # The roots this machine trusts (its package registries may be reached through a
    # proxy with a root of its own), for pip and apt inside the build.
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", BASE_ROOT / "etc/ssl/certs/ca-certificates.crt")
    tar = subprocess.Popen(["tar", "-C", str(BASE_ROOT), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(["podman", *STORAGE, "import", "-", name], stdin=tar.stdout, capture_output=True, text=True)
    tar.wait()
    if imported.returncode != 0:
        raise SystemExit(f"podman import failed: {imported.stderr}")
    print(f"base image {name}: made with debootstrap", flush=True)
    return name


def main() -> int:
    started = time.monotonic()
    base_image()
    run("buildah", *STORAGE, "bud", "--isolation", "chroot", "-t", IMAGE, "-f", "Containerfile", ".", cwd=ROOT, timeout=1800)
    print(f"image built ({time.monotonic() - started:.0f} s so far)", flush=True)

    work = Path(tempfile.mkdtemp(prefix="portal-container-"))
    data = work / "data"
    data.mkdir()
    dns = FakeDNS(default_a="127.0.0.1").start()
    http_port, https_port, app_port = free_port(), free_port(), free_port()
    pebble = Pebble(work, dns.setting, http_port, https_port)
    shutil.copy(pebble.listener_root, data / "acme-root.pem")
    os.chown(data, 10001, 10001)
    os.chown(data / "acme-root.pem", 10001, 10001)
    env = {"PORTAL_BASE_URL": f"https://{BASE_HOST}", "PORTAL_HTTP_PORT": str(http_port),
           "PORTAL_HTTPS_PORT": str(https_port), "PORTAL_ACME_CA": pebble.directory,
           "PORTAL_ACME_CA_ROOT": "/data/acme-root.pem", "PORTAL_DNS_SERVERS": dns.setting,
           "PORTAL_CNAME_TARGET": BASE_HOST, "PORTAL_WORKERS": "1"}
    run("podman", *STORAGE, "rm", "-f", NAME, check=False)
    run("podman", *STORAGE, "--runtime", "runc", "run", "-d", "--name", NAME, "--network", "host",
        # Lower than podman's defaults, which can exceed what this machine allows (runc refuses them).
        "--ulimit", "nproc=4096:4096", "--ulimit", "nofile=8192:8192",
        "-v", f"{data}:/data", *[arg for k, v in env.items() for arg in ("-e", f"{k}={v}")],
        IMAGE, "portal", "serve", "--with-caddy", "--port", str(app_port))
    root = pebble.issuing_root()

    def wait(what: str, condition, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if condition():
                    print(f"ok: {what}", flush=True)
                    return
            except Exception:  # not up yet
                pass
            time.sleep(0.5)
        logs = run("podman", *STORAGE, "logs", NAME, check=False)
        raise SystemExit(f"FAILED: {what}\n{logs.stdout[-4000:]}\n{logs.stderr[-4000:]}")

    def portal(*args: str) -> str:
        return run("podman", *STORAGE, "exec", NAME, "portal", *args).stdout

    try:
        wait("/healthz over HTTPS on the base host", lambda: https_get(BASE_HOST, https_port, "/healthz", root)[0] == 200)
        portal("demo")
        dns.cname(DOMAIN, BASE_HOST)
        portal("domain", "set", "demo", DOMAIN)
        portal("domain", "verify", "demo")
        status, _, body, certificate = https_get(DOMAIN, https_port, "/login", root)
        assert status == 200 and "Brightline" in body and names_in(certificate) == [DOMAIN], (status, certificate)
        first_serial = certificate["serialNumber"]
        print(f"ok: the demo portal over HTTPS on {DOMAIN} (certificate {first_serial} from pebble)", flush=True)
        orders = pebble.orders_for(DOMAIN)

        run("podman", *STORAGE, "restart", "--time", "20", NAME)
        wait("back after a restart", lambda: https_get(BASE_HOST, https_port, "/healthz", root)[0] == 200)
        status, _, body, certificate = https_get(DOMAIN, https_port, "/login", root)
        assert status == 200 and "Brightline" in body, status
        assert certificate["serialNumber"] == first_serial, "a new certificate after the restart"
        assert pebble.orders_for(DOMAIN) == orders, "pebble was asked again after the restart"
        assert "demo" in portal("workspace", "list")
        print("ok: the restart kept the data and the certificate", flush=True)
    finally:
        run("podman", *STORAGE, "rm", "-f", "--time", "5", NAME, check=False)
        pebble.stop()
        dns.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"container check passed in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
