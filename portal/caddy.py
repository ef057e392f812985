"""Caddy in front of the app (``portal serve --with-caddy``): its Caddyfile, its process,
and forgetting a custom domain's certificate.

Caddy serves HTTPS for the base URL's host (automatic HTTPS) and, with on-demand TLS, for
any name the app's ``/_caddy/ask`` allows: a verified custom domain. Everything it keeps
(certificates, account keys, the admin socket) is under ``<data dir>/caddy``, so the data
volume holds it across restarts. ``/_caddy/*`` and ``/metrics`` are not served to the
outside: they are for Caddy and for the machine's own monitoring.

Caddy keeps certificates in memory too: forgetting one removes its files and then makes
Caddy reload (``caddy reload --force`` through the admin socket), which empties that cache.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from portal.settings import Settings, child_environment

log = logging.getLogger("portal.caddy")


def caddyfile_path(settings: Settings) -> Path:
    return settings.caddy_dir / "Caddyfile"


def admin_socket(settings: Settings) -> Path:
    return settings.caddy_dir / "admin.sock"


def storage_dir(settings: Settings) -> Path:
    return settings.caddy_dir / "storage"


def caddyfile(settings: Settings, app_port: int) -> str:
    """The whole configuration: global options, the base host, and on-demand TLS for the rest."""
    upstream = f"127.0.0.1:{app_port}"
    return _configuration(settings, [
        "\t@internal path /_caddy/* /metrics /metrics/*",
        "\trespond @internal 404",
        f"\treverse_proxy {upstream}",
    ], ask=upstream, header="# Written by `portal serve --with-caddy` at every start: edits are lost.")


#: How often the balancer asks each replica's /readyz, and how long it keeps trying
#: other replicas for a request whose replica did not answer.
HEALTH_INTERVAL = "2s"
TRY_DURATION = "10s"


def balancer_caddyfile(settings: Settings, upstreams: list[str], ask: str | None) -> str:
    """A load balancer in front of several replicas (``portal balancer-caddyfile``).

    Requests go to the replicas in turn, only to those whose ``/readyz`` answers, and a
    request whose replica went away is retried on another. With ``ask``, the replica
    beside this Caddy (its ``/_caddy/ask`` answers loopback callers only), custom domains
    get on-demand TLS as with ``--with-caddy``; without, only the base host is served.
    """
    return _configuration(settings, [
        "\t@internal path /_caddy/* /metrics /metrics/*",
        "\trespond @internal 404",
        f"\treverse_proxy {' '.join(upstreams)} {{",
        "\t\tlb_policy round_robin",
        f"\t\tlb_try_duration {TRY_DURATION}",
        "\t\thealth_uri /readyz",
        f"\t\thealth_interval {HEALTH_INTERVAL}",
        "\t}",
    ], ask=ask, header="# A load balancer for the portal's replicas (portal balancer-caddyfile).")


def _configuration(settings: Settings, site_lines: list[str], *, ask: str | None, header: str) -> str:
    host = urlsplit(settings.base_url).hostname
    options = [
        f"http_port {settings.http_port}",
        f"https_port {settings.https_port}",
        f"admin unix/{admin_socket(settings)}",
        f"storage file_system {storage_dir(settings)}",
        f"acme_ca {settings.acme_ca}",
    ]
    if settings.acme_ca_root:
        options.append(f"acme_ca_root {settings.acme_ca_root}")
    if settings.acme_email:
        options.append(f"email {settings.acme_email}")
    site = "\n".join(site_lines)
    on_demand = ["\ton_demand_tls {", f"\t\task http://{ask}/_caddy/ask", "\t}"] if ask else []
    custom_domains = ["https:// {", "\ttls {", "\t\ton_demand", "\t}", site, "}", ""] if ask else []
    return "\n".join([
        header,
        "{",
        *(f"\t{option}" for option in options),
        *on_demand,
        "}",
        "",
        f"{host} {{",
        site,
        "}",
        "",
        *custom_domains,
    ])


def write_caddyfile(settings: Settings, app_port: int) -> Path:
    path = caddyfile_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(caddyfile(settings, app_port))
    return path


def command(settings: Settings) -> list[str]:
    return ["caddy", "run", "--config", str(caddyfile_path(settings)), "--adapter", "caddyfile"]


def environment(settings: Settings, base: dict[str, str]) -> dict[str, str]:
    """Caddy's own files (autosaved config, locks) in the data volume too."""
    return {**base, "XDG_DATA_HOME": str(settings.caddy_dir / "data"), "XDG_CONFIG_HOME": str(settings.caddy_dir / "config"),
            "HOME": str(settings.caddy_dir)}


def forget_certificate(settings: Settings, domain: str) -> bool:
    """Delete ``domain``'s certificate from Caddy's storage and make a running Caddy drop
    it from memory. True if a certificate was there. Never raises: a Caddy that is not
    running (no ``--with-caddy``) has nothing to forget."""
    found = False
    certificates = storage_dir(settings) / "certificates"
    if certificates.is_dir():
        for issuer in certificates.iterdir():
            folder = issuer / domain
            if folder.is_dir() and folder.parent == issuer:
                shutil.rmtree(folder, ignore_errors=True)
                found = True
    binary = shutil.which("caddy")
    if found and admin_socket(settings).exists() and binary:
        try:
            subprocess.run([binary, "reload", "--force", "--config", str(caddyfile_path(settings)), "--adapter",
                            "caddyfile", "--address", f"unix/{admin_socket(settings)}"],
                           capture_output=True, timeout=20, check=True, env=environment(settings, child_environment()))
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("Caddy did not reload after %s's certificate was removed: %s", domain, exc)
    return found
