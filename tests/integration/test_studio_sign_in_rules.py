"""Studio sign-in by emailed link: one link per active membership of the email, each for
its own workspace and member, with the name and lifetime in the email; the request is
audited, rate limited per email and per address; old processed requests are pruned."""

from __future__ import annotations

import datetime as dt

import httpx

from portal import clock
from portal.accounts.magic import KEEP_PROCESSED, process_sign_in_requests, prune_sign_in_requests
from portal.accounts.tables import LoginToken, RateLimitHit, SignInRequest, StaffMember
from portal.mail.tables import OutboxMessage
from tests.audit import only_event
from tests.factories import make_staff, make_workspace
from tests.fixtures import post_form


async def ask(http, email: str):
    return await post_form(http, "/studio/login", {"email": email})


async def test_each_active_membership_gets_its_own_link(http, db, settings):
    acme = await make_workspace("acme", "Acme Agency")
    globex = await make_workspace("globex", "Globex Studio")
    in_acme = await make_staff(acme, "pat@example.com", name="Pat Acme")
    in_globex = await make_staff(globex, "pat@example.com", name="Pat Globex")
    gone = await make_workspace("gone", "Gone Ltd")
    await make_staff(gone, "pat@example.com")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.workspace == gone)
    await make_staff(acme, "someone@example.com")

    response = await ask(http, " Pat@Example.com ")
    assert response.status_code == 200
    await process_sign_in_requests(settings)
    mails = await OutboxMessage.select().order_by(OutboxMessage.id)
    assert [(m["workspace"], m["to_address"]) for m in mails] == [(acme, "pat@example.com"), (globex, "pat@example.com")]
    tokens = await LoginToken.select().order_by(LoginToken.id)
    assert [(t["workspace"], t["staff"], t["client_user"], t["purpose"]) for t in tokens] == [
        (acme, in_acme, None, "login"), (globex, in_globex, None, "login")]
    for token in tokens:
        lifetime = token["expires_at"] - token["created_at"]
        assert abs(lifetime - dt.timedelta(minutes=settings.login_link_minutes)) < dt.timedelta(seconds=5)
    assert "Hi Pat Acme," in mails[0]["text_body"] and "Hi Pat Globex," in mails[1]["text_body"]
    assert f"expires in {settings.login_link_minutes} minutes" in mails[0]["text_body"]
    assert "Acme Agency" in mails[0]["text_body"] and "Globex Studio" in mails[1]["text_body"]

    # each link signs in to its own workspace
    for mail, slug_name in zip(mails, ("Acme Agency", "Globex Studio"), strict=True):
        link = next(w for w in mail["text_body"].split() if "/studio/login/" in w).removeprefix(settings.base_url)
        browser = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
        assert (await post_form(browser, link)).status_code == 303
        assert slug_name in (await browser.get("/studio/")).text


async def test_an_unknown_or_removed_email_gets_no_link(http, world, settings):
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == world.staff)
    await ask(http, "olivia@acme.example")
    await ask(http, "nobody@acme.example")
    await process_sign_in_requests(settings)
    assert await OutboxMessage.count() == 0 and await LoginToken.count() == 0


async def test_the_request_is_audited_with_the_email_and_area(http, world, settings):
    await ask(http, "Olivia@Acme.example")
    event = await only_event("login_link_requested")
    assert (event["workspace"], event["actor_kind"], event["actor_email"]) == (None, "anonymous", "olivia@acme.example")
    assert event["ip"] and event["detail"] == {"area": "studio"}
    request = await SignInRequest.select().first()
    assert (request["area"], request["workspace"], request["email"]) == ("studio", None, "olivia@acme.example")


async def test_studio_requests_are_limited_per_email_and_per_address(http, world, settings):
    for _ in range(settings.rate_limit_per_email):
        assert (await ask(http, "olivia@acme.example")).status_code == 200
    assert (await ask(http, "olivia@acme.example")).status_code == 429
    keys = {row["key"] for row in await RateLimitHit.select(RateLimitHit.key)}
    assert "link-email:studio:olivia@acme.example" in keys
    assert any(key.startswith("link-ip:") and key != "link-ip:" for key in keys)
    # the portal's limit for the same email is counted apart
    assert (await post_form(http, "/p/acme/login", {"email": "olivia@acme.example"})).status_code == 200


async def test_processed_requests_are_pruned_after_a_day_and_pending_ones_kept(db):
    now = clock.now()
    for processed in (now - KEEP_PROCESSED - dt.timedelta(minutes=1), now - KEEP_PROCESSED + dt.timedelta(minutes=1), None):
        await SignInRequest.insert(SignInRequest(area="studio", workspace=None, email="a@b.example", created_at=now,
                                                 processed_at=processed))
    await prune_sign_in_requests()
    left = [row["processed_at"] for row in await SignInRequest.select(SignInRequest.processed_at).order_by(SignInRequest.id)]
    assert len(left) == 2 and left[1] is None and left[0] is not None
