"""Portal sign-in by emailed link, rule by rule: the request (audited in the workspace,
limited per workspace and email and per address, stored with its time), and the worker
step (batches of 20, unknown areas logged and dropped, a link only to an active client
of that workspace with live access, while its portal is on)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from portal import clock
from portal.accounts.magic import normalise_email, process_sign_in_requests
from portal.accounts.tables import ClientOrganisation, ClientUser, LoginToken, RateLimitHit, SignInRequest
from portal.errors import Invalid
from portal.mail.tables import OutboxMessage
from portal.workspaces.tables import Workspace
from tests.audit import only_event
from tests.factories import grant, insert, make_client, make_project, make_workspace
from tests.fixtures import post_form


async def ask(http, email: str, slug: str = "acme"):
    return await post_form(http, f"/p/{slug}/login", {"email": email})


def test_a_bad_or_missing_email_is_explained():
    for raw in (None, "", "not-an-email"):
        with pytest.raises(Invalid) as refused:
            normalise_email(raw)
        assert refused.value.errors == {"email": "Enter an email address like name@company.com."}
    assert normalise_email("  Ann@Example.COM ") == "ann@example.com"


async def test_a_portal_request_is_audited_in_its_workspace_and_stored_with_its_time(http, world, monkeypatch):
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
    monkeypatch.setattr(clock, "now", lambda: moment)
    assert (await ask(http, " Alice@Northwind.example ")).status_code == 200
    event = await only_event("login_link_requested")
    assert (event["workspace"], event["actor_kind"], event["actor_email"]) == (
        world.workspace, "anonymous", "alice@northwind.example")
    assert event["ip"] == "203.0.113.7" and event["detail"] == {}
    request = await SignInRequest.select().first()
    assert (request["area"], request["workspace"], request["email"], request["created_at"], request["processed_at"]) == (
        "portal", world.workspace, "alice@northwind.example", moment, None)
    keys = {row["key"] for row in await RateLimitHit.select(RateLimitHit.key)}
    assert keys == {f"link-email:ws{world.workspace}:alice@northwind.example", "link-ip:203.0.113.7"}


async def test_the_worker_takes_twenty_requests_at_a_time(settings, world):
    for n in range(25):
        await SignInRequest.insert(SignInRequest(area="portal", workspace=world.workspace, email=f"n{n}@x.example",
                                                 created_at=clock.now()))
    assert await process_sign_in_requests(settings) == 20
    assert await SignInRequest.count().where(SignInRequest.processed_at.is_null()) == 5
    assert await process_sign_in_requests(settings) == 5
    assert await process_sign_in_requests(settings) == 0
    assert await process_sign_in_requests(settings, batch=3) == 0


async def test_a_request_of_an_unknown_area_is_logged_and_dropped(settings, world, caplog):
    request_id = await insert(SignInRequest(area="nowhere", workspace=world.workspace, email="alice@northwind.example",
                                            created_at=clock.now()))
    with caplog.at_level(logging.WARNING, logger="portal.accounts"):
        assert await process_sign_in_requests(settings) == 1
    assert [r.getMessage() for r in caplog.records if r.name == "portal.accounts"] == [
        f"Sign-in request #{request_id} has an unknown area 'nowhere'"]
    assert (await SignInRequest.select().first())["processed_at"] is not None
    assert await OutboxMessage.count() == 0


async def queue(workspace: int | None, email: str) -> None:
    await SignInRequest.insert(SignInRequest(area="portal", workspace=workspace, email=email, created_at=clock.now()))


async def test_a_link_goes_only_to_an_active_client_of_that_workspace(settings, world):
    other = await make_workspace("other", "Other Studio")
    org = await insert(ClientOrganisation(workspace=other, name="Other client"))
    dave = await make_client(other, org, "dave@example.com", "Dave")
    await grant(other, await make_project(other, org, "Other project"), dave)
    await queue(world.workspace, "dave@example.com")  # a client of the other workspace only
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == world.carol)
    await queue(world.workspace, "carol@globex.example")  # removed, though her grant is live
    await queue(None, "alice@northwind.example")  # no workspace named
    await process_sign_in_requests(settings)
    assert await OutboxMessage.count() == 0 and await LoginToken.count() == 0

    await queue(world.workspace, "alice@northwind.example")
    await process_sign_in_requests(settings)
    mail = await OutboxMessage.select().first()
    assert (mail["workspace"], mail["to_address"], mail["kind"]) == (world.workspace, "alice@northwind.example",
                                                                    "login_link")
    assert f"{settings.base_url}/p/acme/login/" in mail["text_body"] and "Hi Alice Andrews," in mail["text_body"]
    token = await LoginToken.select().first()
    assert (token["workspace"], token["client_user"]) == (world.workspace, world.alice)


async def test_no_link_while_the_portal_is_off(settings, world):
    await Workspace.update({Workspace.portal_enabled: False}).where(Workspace.id == world.workspace)
    await queue(world.workspace, "alice@northwind.example")
    assert await process_sign_in_requests(settings) == 1
    assert await OutboxMessage.count() == 0
    assert (await SignInRequest.select().first())["processed_at"] is not None
