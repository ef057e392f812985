"""/healthz, /readyz and /metrics: what a probe and a scraper on the host get, and nobody else."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx

from portal import clock
from portal.mail.tables import OutboxMessage
from portal.web import health
from tests.factories import insert
from tests.fixtures import sign_in_client
from tests.servers import start_server


def client_from(app, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url="http://127.0.0.1:8000")


async def test_ready_when_the_database_answers_the_disk_has_room_and_mail_flows(http, world, monkeypatch):
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "disk": "ok", "outbox": "ok"}}

    await insert(OutboxMessage(workspace=world.workspace, to_address="alice@northwind.example", subject="Hi",
                               text_body="Hi", status="pending", next_attempt_at=clock.now() - dt.timedelta(hours=1)))
    late = await http.get("/readyz")
    assert late.status_code == 503 and late.json()["checks"]["outbox"] == "1 email(s) waiting over 30 minutes"

    monkeypatch.setattr(health, "MIN_FREE_BYTES", 2**62)  # a disk that cannot have that much room
    full = (await http.get("/readyz")).json()
    assert full["status"] == "not ready" and full["checks"]["disk"].startswith("low: ")


async def test_metrics_are_for_this_host_only(app, http, settings, world):
    assert (await http.get("/metrics")).status_code == 403  # the test client is 203.0.113.7
    # Even from a proxy whose X-Forwarded-For the app believes for client IPs: the peer decides.
    app.state.settings = dataclasses.replace(settings, trusted_proxies=("203.0.113.7/32",))
    spoofed = await http.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert spoofed.status_code == 403
    async with client_from(app, "127.0.0.1") as local:
        assert (await local.get("/metrics")).status_code == 200
    async with client_from(app, "::1") as local:
        assert (await local.get("/metrics")).status_code == 200


async def test_metrics_count_requests_by_route_never_by_url(app, http, world):
    await sign_in_client(http, world.workspace, world.alice)
    for _ in range(3):
        assert (await http.get(f"/p/acme/projects/{world.project_a}")).status_code == 200
    await http.post("/webhooks/stripe/acme", content=b"{}", headers={"stripe-signature": "t=1,v1=00"})
    async with client_from(app, "127.0.0.1") as local:
        text = (await local.get("/metrics")).text
    line = next(line for line in text.splitlines()
                if line.startswith('portal_requests_total{method="GET",route="/p/{workspace_slug}/projects/{project_id}",status="200"}'))
    assert float(line.split()[-1]) >= 3
    assert 'portal_request_seconds_bucket{le="0.1",method="GET",route="/p/{workspace_slug}/projects/{project_id}"}' in text
    assert "portal_webhook_failures_total{" in text and "portal_outbox_waiting " in text
    assert "/p/acme" not in text and "/healthz" not in text  # routes, not URLs; probes uncounted


def test_a_server_with_two_workers_adds_their_counts_up():
    with start_server("metrics", workers=2) as server:
        with httpx.Client(base_url=server.url) as client:
            for _ in range(40):
                assert client.get("/p/none/login").status_code == 404
            text = client.get("/metrics").text
    counted = sum(float(line.split()[-1]) for line in text.splitlines()
                  if line.startswith("portal_requests_total{") and 'route="/p/{workspace_slug}/login"' in line)
    assert counted == 40  # whichever worker answered each request, and whichever answered /metrics

