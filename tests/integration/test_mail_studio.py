"""The studio's Emails page: staff see their workspace's outbox, failures and bodies."""

from __future__ import annotations

import dataclasses
import re

from portal.mail.outbox import enqueue_email
from portal.mail.tables import OutboxMessage
from portal.mail.worker import MAX_ATTEMPTS, deliver_due
from tests.factories import make_staff, make_workspace
from tests.fixtures import post_form, sign_in_staff
from tests.integration.test_mail_delivery import INVITE, free_port


async def queue(settings, workspace: int, to: str = "alice@northwind.example") -> int:
    return await enqueue_email(settings, workspace_id=workspace, to=to, template="invite", context=INVITE)


async def make_failed(settings, workspace: int) -> int:
    message_id = await queue(settings, workspace)
    down = dataclasses.replace(settings, smtp_url=f"smtp+plain://127.0.0.1:{free_port()}")
    await deliver_due(down, "w")
    await OutboxMessage.update({OutboxMessage.status: "failed", OutboxMessage.attempts: MAX_ATTEMPTS}).where(
        OutboxMessage.id == message_id
    )
    return message_id


async def test_staff_see_a_failed_email_with_its_error(http, settings, world):
    failed = await make_failed(settings, world.workspace)
    await sign_in_staff(http, world.workspace, world.staff)

    page = await http.get("/studio/outbox")
    assert page.status_code == 200
    assert 'data-testid="failed-count"' in page.text
    row = re.search(rf'data-testid="outbox-row-{failed}">(.*?)</tr>', page.text, re.S).group(1)
    assert "Olivia Owner invited you to Northwind website" in row
    assert "alice@northwind.example" in row
    assert "badge--failed" in row
    assert "Connect" in row  # the connection error, shortened

    detail = await http.get(f"/studio/outbox/{failed}")
    assert detail.status_code == 200
    assert 'data-testid="failure"' in detail.text
    last_error = (await OutboxMessage.select(OutboxMessage.last_error).where(OutboxMessage.id == failed).first())["last_error"]
    assert last_error and last_error.split(":")[0] in detail.text
    # Not delivered, so the text is there, but never the personal link (it signs its follower in).
    assert 'data-testid="body"' in detail.text and "Northwind website" in detail.text
    assert "INVITE-TOKEN-123" not in detail.text


async def test_the_failed_filter_lists_only_failures(http, settings, world):
    failed = await make_failed(settings, world.workspace)
    waiting = await queue(settings, world.workspace, to="carol@globex.example")
    await sign_in_staff(http, world.workspace, world.staff)

    page = await http.get("/studio/outbox?status=failed")
    assert f'outbox-row-{failed}"' in page.text
    assert f'outbox-row-{waiting}"' not in page.text


async def test_staff_of_another_workspace_get_404(http, settings, world):
    failed = await make_failed(settings, world.workspace)
    other = await make_workspace(slug="globex-agency", name="Globex Agency")
    outsider = await make_staff(other, "mallory@globex-agency.example")
    await sign_in_staff(http, other, outsider)

    assert (await http.get(f"/studio/outbox/{failed}")).status_code == 404
    page = await http.get("/studio/outbox")
    assert page.status_code == 200
    assert f'outbox-row-{failed}"' not in page.text
    assert "Northwind website" not in page.text
    response = await post_form(http, f"/studio/outbox/{failed}/retry")
    assert response.status_code == 404
    assert (await OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == failed).first())["status"] == "failed"


async def test_send_again_queues_a_failed_email_with_fresh_attempts(http, settings, world):
    failed = await make_failed(settings, world.workspace)
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, f"/studio/outbox/{failed}/retry")
    assert response.status_code == 303
    assert response.headers["location"] == f"/studio/outbox/{failed}?notice=queued"
    stored = await OutboxMessage.select().where(OutboxMessage.id == failed).first()
    assert stored["status"] == "pending" and stored["attempts"] == 0

    # Only a failed email can be sent again: now it is queued, a second click changes nothing.
    again = await post_form(http, f"/studio/outbox/{failed}/retry")
    assert again.status_code == 409  # a conflict with its state, shown on the message page
    assert 'data-testid="form-error"' in again.text


async def test_without_smtp_the_page_says_so_and_hides_the_invite_link(http, settings, world):
    message_id = await queue(settings, world.workspace)
    assert settings.smtp_url is None
    await deliver_due(settings, "w")
    await sign_in_staff(http, world.workspace, world.staff)

    page = await http.get("/studio/outbox")
    assert 'data-testid="no-smtp"' in page.text
    assert "badge--logged" in page.text
    detail = await http.get(f"/studio/outbox/{message_id}")
    assert 'data-testid="body"' in detail.text and 'data-testid="not-sent"' in detail.text
    assert "INVITE-TOKEN-123" not in detail.text
    assert "only the recipient can use it" in detail.text
    # The rest of the message stays readable, the sign-in page's address included.
    assert "http://127.0.0.1:8000/p/acme/login</a>" in detail.text


async def test_a_delivered_email_keeps_its_link_private(http, settings, world):
    message_id = await queue(settings, world.workspace)
    await OutboxMessage.update({OutboxMessage.status: "sent"}).where(OutboxMessage.id == message_id)
    await sign_in_staff(http, world.workspace, world.staff)

    detail = await http.get(f"/studio/outbox/{message_id}")
    assert detail.status_code == 200
    assert 'data-testid="body-hidden"' in detail.text
    assert "INVITE-TOKEN-123" not in detail.text


async def test_signed_out_visitors_are_sent_to_sign_in(http, settings, world):
    response = await http.get("/studio/outbox")
    assert response.status_code == 303
    assert response.headers["location"] == "/studio/login"
