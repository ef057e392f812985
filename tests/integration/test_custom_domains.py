"""Custom domains: entering one, verifying its CNAME against a real DNS server the test
runs, the portal answering on it at `/` (and nothing else answering there), the Host
check, and Caddy's permission endpoint."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from portal.app import create_app
from portal.mail.tables import OutboxMessage
from portal.workspaces import domains
from portal.workspaces.tables import Workspace
from tests.audit import events
from tests.factories import PNG_1X1, make_file, make_staff, make_workspace
from tests.fakes.dns_server import FakeDNS
from tests.fixtures import post_form, sign_in_staff

ROOT = Path(__file__).resolve().parents[2]
TARGET = "portals.example.test"
DOMAIN = "portal.northwind-agency.test"


@pytest.fixture
def dns():
    server = FakeDNS().start()
    yield server
    server.stop()


@pytest.fixture
def domain_settings(settings, dns):
    return dataclasses.replace(settings, cname_target=TARGET, dns_servers=(dns.address,))


@pytest.fixture
async def app(domain_settings, db):
    return create_app(domain_settings)


def client_for(app, host: str | None = None, peer: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 50000))
    headers = {"Host": host} if host else {}
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000", headers=headers)


@pytest.fixture
async def studio(app, world):
    async with client_for(app) as client:
        await sign_in_staff(client, world.workspace, world.staff)
        yield client


async def domain_row(workspace_id: int) -> dict:
    return await Workspace.select(Workspace.custom_domain, Workspace.domain_status, Workspace.domain_error,
                                  Workspace.domain_checked_at).where(Workspace.id == workspace_id).first()


async def verified(world, dns) -> None:
    dns.cname(DOMAIN, TARGET)
    await Workspace.update({Workspace.custom_domain: DOMAIN, Workspace.domain_status: "verified"}).where(
        Workspace.id == world.workspace)


# -- entering the domain ----------------------------------------------------------------

@pytest.mark.parametrize(("typed", "message"), [
    ("", "Enter the subdomain your clients will use, such as portal.youragency.com."),
    ("192.0.2.10", "Enter a domain name, not an IP address."),
    ("youragency.com", "Use a subdomain such as portal.youragency.com: a bare domain cannot have a CNAME record."),
    ("portal.your_agency.com", "That is not a valid domain name: use letters, digits, dashes and dots, such as portal.youragency.com."),
    ("portal.-agency.com", "That is not a valid domain name: use letters, digits, dashes and dots, such as portal.youragency.com."),
    ("portal.agency.123", "That is not a valid domain name: it must end in a name such as .com."),
    ("a" * 64 + ".agency.com", "That is not a valid domain name: use letters, digits, dashes and dots, such as portal.youragency.com."),
])
async def test_a_bad_domain_is_refused_in_the_form_and_nothing_is_saved(studio, world, typed, message):
    response = await post_form(studio, "/studio/settings/portal/domain", {"domain": typed})
    assert response.status_code == 422
    assert f'<p class="field__error" id="domain-error" data-testid="domain-error">{message}</p>' in response.text
    assert f'value="{typed}"' in response.text  # what was typed stays in the field
    assert (await domain_row(world.workspace))["custom_domain"] is None


async def test_the_installations_own_host_and_names_under_it_are_refused(db, settings):
    own = dataclasses.replace(settings, base_url="https://portals.example.test")
    for typed in ("portals.example.test", "acme.portals.example.test", "PORTALS.example.test."):
        with pytest.raises(domains.Invalid) as refused:
            domains.check_name(own, typed)
        assert "this portal's own address" in refused.value.errors["domain"]
    assert domains.check_name(own, " HTTPS://Portal.NorthWind-Agency.test./ ") == DOMAIN


async def test_a_domain_another_workspace_uses_is_refused(studio, world):
    other = await make_workspace("globex", "Globex Studio")
    await Workspace.update({Workspace.custom_domain: DOMAIN, Workspace.domain_status: "pending"}).where(Workspace.id == other)
    response = await post_form(studio, "/studio/settings/portal/domain", {"domain": DOMAIN})
    assert response.status_code == 422
    assert f"{DOMAIN} is used by another workspace already." in response.text
    assert (await domain_row(world.workspace))["custom_domain"] is None


async def test_saving_a_domain_shows_the_cname_record_to_add(studio, world):
    response = await post_form(studio, "/studio/settings/portal/domain", {"domain": "Portal.Northwind-Agency.test"})
    assert response.status_code == 303
    row = await domain_row(world.workspace)
    assert (row["custom_domain"], row["domain_status"]) == (DOMAIN, "pending")
    page = (await studio.get(response.headers["location"])).text
    assert f'<code data-testid="cname-name">{DOMAIN}</code>' in page
    assert f'<code data-testid="cname-target">{TARGET}</code>' in page
    assert f'data-copy="{TARGET}"' in page
    assert 'data-status="pending"' in page and "Not verified yet." in page
    assert "up to 48 hours" in page
    event = (await events("domain_set"))[0]
    assert (event["actor_id"], event["detail"]["domain"], event["detail"]["previous"]) == (world.staff, DOMAIN, "")


# -- verifying ---------------------------------------------------------------------------

async def verify(studio) -> str:
    response = await post_form(studio, "/studio/settings/portal/domain/verify")
    assert response.status_code == 303
    return (await studio.get(response.headers["location"])).text


async def test_verification_against_the_records_the_dns_server_has(studio, world, dns, monkeypatch):
    monkeypatch.setattr(domains, "LOOKUP_SECONDS", 1.0)
    await post_form(studio, "/studio/settings/portal/domain", {"domain": DOMAIN})

    page = await verify(studio)  # no record at all
    row = await domain_row(world.workspace)
    assert row["domain_status"] == "pending" and row["domain_checked_at"] is not None
    assert row["domain_error"].startswith(f"No DNS record for {DOMAIN} yet.") and "48 hours" in row["domain_error"]
    assert row["domain_error"] in page

    dns.a(DOMAIN, "192.0.2.10")  # some other kind of record
    await verify(studio)
    assert (await domain_row(world.workspace))["domain_error"].startswith(f"{DOMAIN} has no CNAME record yet")

    dns.cname(DOMAIN, "elsewhere.example.test")  # the wrong target
    page = await verify(studio)
    error = (await domain_row(world.workspace))["domain_error"]
    assert error.startswith(f"{DOMAIN} points to elsewhere.example.test, not to {TARGET}.")
    assert error in page

    dns.silence(DOMAIN)  # the server does not answer
    await verify(studio)
    row = await domain_row(world.workspace)
    assert row["domain_status"] == "pending"
    assert row["domain_error"] == f"The DNS lookup of {DOMAIN} timed out. Please try again in a few minutes."

    dns.cname(DOMAIN, TARGET.upper())  # right at last (DNS names are case-blind)
    page = await verify(studio)
    row = await domain_row(world.workspace)
    assert (row["domain_status"], row["domain_error"]) == ("verified", "")
    assert "Domain verified: your portal answers there now." in page and 'data-status="verified"' in page
    assert f"http://{DOMAIN}/" in page
    assert [e["detail"]["domain"] for e in await events("domain_not_verified")] == [DOMAIN] * 4
    assert len(await events("domain_verified")) == 1
    assert dns.asked.count(DOMAIN) >= 5


async def test_a_verified_domain_whose_record_is_gone_is_failed_and_no_longer_served(app, studio, world, dns):
    await verified(world, dns)
    dns.clear(DOMAIN)
    page = await verify(studio)
    row = await domain_row(world.workspace)
    assert row["domain_status"] == "failed" and row["domain_error"].startswith(f"No DNS record for {DOMAIN}")
    assert 'data-status="failed"' in page and "No longer served." in page
    async with client_for(app, DOMAIN) as visitor:
        assert (await visitor.get("/login")).status_code == 400


async def test_removing_the_domain_stops_serving_it(app, studio, world, dns):
    await verified(world, dns)
    async with client_for(app, DOMAIN) as visitor:
        assert (await visitor.get("/login")).status_code == 200
        response = await post_form(studio, "/studio/settings/portal/domain/remove")
        assert response.status_code == 303
        assert await domain_row(world.workspace) == {"custom_domain": None, "domain_status": "none", "domain_error": "",
                                                      "domain_checked_at": None}
        assert (await visitor.get("/login")).status_code == 400
    assert (await events("domain_removed"))[0]["detail"]["domain"] == DOMAIN


# -- who may ----------------------------------------------------------------------------

async def test_a_starter_workspace_has_no_custom_domain(app, world):
    await Workspace.update({Workspace.plan: "starter"}).where(Workspace.id == world.workspace)
    async with client_for(app) as client:
        await sign_in_staff(client, world.workspace, world.staff)
        page = await client.get("/studio/settings/portal")
        assert page.status_code == 200 and 'data-testid="custom-domain"' not in page.text
        response = await post_form(client, "/studio/settings/portal/domain", {"domain": DOMAIN})
        assert response.status_code == 403
        assert "A custom domain comes with the Growth and Scale plans." in response.text
    assert (await domain_row(world.workspace))["custom_domain"] is None


async def test_a_member_sees_the_state_but_cannot_change_it(app, world, dns):
    await verified(world, dns)
    member = await make_staff(world.workspace, "max@acme.example", role="member")
    async with client_for(app) as client:
        await sign_in_staff(client, world.workspace, member)
        page = (await client.get("/studio/settings/portal")).text
        assert 'data-status="verified"' in page
        assert 'data-testid="domain-form"' not in page and 'data-testid="verify-domain"' not in page
        for url, data in (("/studio/settings/portal/domain", {"domain": "portal.other.test"}),
                          ("/studio/settings/portal/domain/verify", {}), ("/studio/settings/portal/domain/remove", {})):
            response = await post_form(client, url, data)
            assert response.status_code == 403, url
            assert "Only owners and admins can change the custom domain." in response.text
    assert (await domain_row(world.workspace))["custom_domain"] == DOMAIN


async def test_nobody_signed_in_reaches_the_domain_routes(app, world):
    async with client_for(app) as client:
        for url in ("/studio/settings/portal/domain", "/studio/settings/portal/domain/verify",
                    "/studio/settings/portal/domain/remove"):
            response = await post_form(client, url, {"domain": DOMAIN})
            assert (response.status_code, response.headers.get("location")) == (303, "/studio/login"), url
    assert (await domain_row(world.workspace))["custom_domain"] is None


# -- the portal on its domain ------------------------------------------------------------

async def test_the_portal_answers_on_its_domain_at_the_root_and_signs_in_by_magic_link(app, world, dns, domain_settings):
    await verified(world, dns)
    shared = await make_file(domain_settings, world.workspace, world.project_a, "brief.png")
    async with client_for(app, f"{DOMAIN.upper()}.:443") as visitor:  # case, trailing dot and port
        home = await visitor.get("/")
        assert home.status_code == 303 and home.headers["location"] == "/login"
        login = await visitor.get("/login")
        assert login.status_code == 200 and "Acme Agency" in login.text
        assert 'action="/login"' in login.text and "/p/acme" not in login.text
        sent = await post_form(visitor, "/login", {"email": "alice@northwind.example"})
        assert sent.status_code == 200
    from portal.accounts.magic import process_sign_in_requests

    await process_sign_in_requests(app.state.settings)
    body = (await OutboxMessage.select(OutboxMessage.text_body).where(
        OutboxMessage.to_address == "alice@northwind.example").first())["text_body"]
    link = next(word for word in body.split() if "/login/" in word)
    assert link.startswith(f"http://{DOMAIN}/login/"), link
    async with client_for(app, DOMAIN) as visitor:
        path = link.removeprefix(f"http://{DOMAIN}")
        await visitor.get(path)
        redeemed = await post_form(visitor, path)
        assert redeemed.status_code == 303 and redeemed.headers["location"] == "/"
        home = await visitor.get("/")
        assert home.status_code == 200 and "Northwind website" in home.text
        assert f'href="/projects/{world.project_a}"' in home.text and "/p/acme/" not in home.text
        assert (await visitor.get(f"/projects/{world.project_a}")).status_code == 200
        files = await visitor.get(f"/projects/{world.project_a}/files")
        assert f'href="/projects/{world.project_a}/files/{shared}/download"' in files.text
        download = await visitor.get(f"/projects/{world.project_a}/files/{shared}/download")
        assert download.status_code == 200 and download.content == PNG_1X1
        assert (await visitor.get("/theme.css")).status_code == 200
        assert (await visitor.get("/static/css/app.css")).status_code == 200
        assert (await visitor.get("/favicon.ico")).status_code == 200


@pytest.mark.parametrize("path", ["/studio/", "/studio/login", "/p/acme/", "/p/globex/login", "/webhooks/stripe/acme",
                                  "/studio/preview/1/"])
async def test_nothing_but_the_workspaces_portal_answers_on_its_domain(app, world, dns, path):
    await verified(world, dns)
    async with client_for(app, DOMAIN) as visitor:
        response = await visitor.get(path)
        assert response.status_code == 404
        assert "Acme Agency" in response.text  # the portal's own branded 404
        posted = await visitor.post(path, data={})
        assert posted.status_code in (403, 404, 405)  # never a studio or webhook answer


async def test_two_workspaces_each_on_their_domain(app, world, dns):
    await verified(world, dns)
    other = await make_workspace("globex", "Globex Studio")
    await Workspace.update({Workspace.custom_domain: "clients.globex.test", Workspace.domain_status: "verified"}).where(
        Workspace.id == other)
    async with client_for(app, DOMAIN) as acme, client_for(app, "clients.globex.test") as globex:
        assert "Acme Agency" in (await acme.get("/login")).text
        page = (await globex.get("/login")).text
        assert "Globex Studio" in page and "Acme Agency" not in page


async def test_an_unknown_or_unverified_host_gets_400_and_probes_answer_on_any_host(app, world, dns):
    await Workspace.update({Workspace.custom_domain: DOMAIN, Workspace.domain_status: "pending"}).where(
        Workspace.id == world.workspace)
    for host in ("evil.example", DOMAIN, "portal.northwind-agency.test.evil.example", ""):
        async with client_for(app, host or None) as visitor:
            if not host:
                visitor.headers.pop("Host", None)
            response = await visitor.get("/p/acme/login", headers={"Host": host} if host else {})
            if host:
                assert response.status_code == 400, host
                assert response.text == "This address is not served here.\n"
            assert (await visitor.get("/healthz", headers={"Host": host or "x"})).status_code == 200


async def test_the_default_url_sends_pages_to_the_verified_domain(app, world, dns):
    async with client_for(app) as visitor:
        assert (await visitor.get("/p/acme/login")).status_code == 200  # not verified: served here
        await verified(world, dns)
        moved = await visitor.get("/p/acme/login?next=%2F")
        assert moved.status_code == 302 and moved.headers["location"] == f"http://{DOMAIN}/login?next=%2F"
        assert (await visitor.get("/p/acme/theme.css")).status_code == 200  # the studio's previews stay
        posted = await post_form(visitor, "/p/acme/login", {"email": "alice@northwind.example"})
        assert posted.status_code == 200  # a form sent before the switch still works


# -- Caddy's permission endpoint ---------------------------------------------------------

async def test_caddy_may_order_certificates_only_for_verified_domains_and_the_base_host(app, world, dns):
    await verified(world, dns)
    other = await make_workspace("globex", "Globex Studio")
    await Workspace.update({Workspace.custom_domain: "clients.globex.test", Workspace.domain_status: "pending"}).where(
        Workspace.id == other)
    dns.asked.clear()
    async with client_for(app, peer="127.0.0.1") as caddy:
        for name, status in ((DOMAIN, 200), (DOMAIN.upper() + ".", 200), ("127.0.0.1", 200),
                             ("clients.globex.test", 403), ("unknown.example", 403), ("", 403)):
            response = await caddy.get("/_caddy/ask", params={"domain": name}, headers={"Host": "localhost"})
            assert response.status_code == status, name
    assert dns.asked == []  # no DNS in this path
    async with client_for(app, peer="203.0.113.7") as outsider:
        assert (await outsider.get("/_caddy/ask", params={"domain": DOMAIN})).status_code == 403


# -- the command line --------------------------------------------------------------------

async def test_the_domain_commands(world, dns):
    env = {**os.environ, "PORTAL_DNS_SERVERS": dns.setting, "PORTAL_CNAME_TARGET": TARGET}

    def portal(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "portal.cli", "domain", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)

    done = portal("set", "acme", "Portal.Northwind-Agency.test")
    assert done.returncode == 0, done.stderr
    assert f"{DOMAIN} CNAME {TARGET}" in done.stdout
    refused = portal("set", "acme", "10.0.0.1")
    assert refused.returncode == 1 and "Enter a domain name, not an IP address." in refused.stderr
    failed = portal("verify", "acme")
    assert failed.returncode == 1 and f"No DNS record for {DOMAIN} yet." in failed.stderr
    dns.cname(DOMAIN, TARGET)
    ok = portal("verify", "acme")
    assert ok.returncode == 0 and "verified" in ok.stdout
    listed = portal("list")
    assert listed.stdout.split()[:3] == ["acme", DOMAIN, "verified"]
    assert portal("remove", "acme").stdout.strip() == f"removed {DOMAIN} from workspace acme"
    assert portal("list").stdout == ""
    assert "no workspace with slug 'nope'" in portal("verify", "nope").stderr


# -- the daily look ---------------------------------------------------------------------

async def test_the_daily_look_fails_a_domain_whose_record_went_and_tells_the_owners_once(domain_settings, world, dns):
    import asyncio
    import datetime as dt

    from portal import clock

    await verified(world, dns)
    other = await make_workspace("globex", "Globex Studio")
    await make_staff(other, "gina@globex.example")
    await Workspace.update({Workspace.custom_domain: "clients.globex.test", Workspace.domain_status: "verified",
                            Workspace.domain_checked_at: clock.now() - dt.timedelta(hours=1)}).where(Workspace.id == other)
    await Workspace.update({Workspace.domain_checked_at: clock.now() - dt.timedelta(hours=25)}).where(
        Workspace.id == world.workspace)
    await make_staff(world.workspace, "max@acme.example", role="member")
    dns.clear(DOMAIN)
    dns.asked.clear()

    # Two processes' housekeeping at once: the domain is claimed and looked up once.
    counts = await asyncio.gather(domains.recheck_due(domain_settings), domains.recheck_due(domain_settings))
    assert sorted(counts) == [0, 1] and dns.asked == [DOMAIN]  # globex was checked an hour ago
    row = await domain_row(world.workspace)
    assert row["domain_status"] == "failed" and row["domain_error"].startswith(f"No DNS record for {DOMAIN}")
    mail = await OutboxMessage.select(OutboxMessage.to_address, OutboxMessage.subject, OutboxMessage.text_body).where(
        OutboxMessage.kind == "domain_failed")
    assert [(m["to_address"], m["subject"]) for m in mail] == [("olivia@acme.example", f"Your portal is no longer served at {DOMAIN}")]
    assert "http://127.0.0.1:8000/p/acme/" in mail[0]["text_body"]
    assert (await events("domain_not_verified"))[0]["detail"]["daily"] is True

    # A day later, still failing: no second email; once the record is back, it is served again.
    await Workspace.update({Workspace.domain_checked_at: clock.now() - dt.timedelta(hours=25)}).where(
        Workspace.id == world.workspace)
    assert await domains.recheck_due(domain_settings) == 1
    assert await OutboxMessage.count().where(OutboxMessage.kind == "domain_failed") == 1
    dns.cname(DOMAIN, TARGET)
    await Workspace.update({Workspace.domain_checked_at: clock.now() - dt.timedelta(hours=25)}).where(
        Workspace.id == world.workspace)
    assert await domains.recheck_due(domain_settings) == 1
    assert (await domain_row(world.workspace))["domain_status"] == "verified"
    assert (await domain_row(other))["domain_status"] == "verified"
