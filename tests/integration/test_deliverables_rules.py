"""Deliverables in the studio, rule by rule: the field limits and their messages, the
refusals of "ready" with their messages, the audit events of create, ready and delete,
and who gets the client's decision (the active lead of the project, else the owners)."""

from __future__ import annotations

import datetime as dt
import hashlib

import httpx
import pytest

from portal import clock
from portal.accounts.sessions import Principal
from portal.accounts.tables import ClientUser, StaffMember
from portal.deliverables import services
from portal.deliverables.services import MAX_TEXT, MAX_TITLE
from portal.deliverables.tables import Deliverable, DeliverableComment, DeliverableVersion, ReviewDecision
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.mail.tables import OutboxMessage
from portal.projects.tables import Project, ProjectAccess
from portal.workspaces.tables import Workspace
from tests.audit import events, only_event, who
from tests.factories import (
    DEMO_PDF,
    PNG_1PX,
    grant,
    make_client,
    make_deliverable,
    make_project,
    make_staff,
    make_workspace,
)
from tests.fixtures import post_form, sign_in_client, sign_in_staff


def base(world, project=None) -> str:
    return f"/studio/projects/{project or world.project_a}/deliverables"


async def test_a_created_deliverable_is_a_draft_by_its_author_and_audited(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    created = await post_form(http, base(world), {"title": "  Brand book  ", "description": "  All of it.  "})
    assert created.status_code == 303
    row = await Deliverable.select().first()
    assert (row["title"], row["description"], row["status"], row["created_by"], row["project"]) == (
        "Brand book", "All of it.", "draft", world.staff, world.project_a)
    event = await only_event("deliverable.created")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"]) == ("deliverable", row["id"])


async def test_title_and_description_limits_are_explained(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    ok = await post_form(http, base(world), {"title": "t" * MAX_TITLE, "description": "d" * MAX_TEXT})
    assert ok.status_code == 303
    refused = await post_form(http, base(world), {"title": "t" * (MAX_TITLE + 1), "description": "d" * (MAX_TEXT + 1)})
    assert refused.status_code == 422
    assert f"Keep the title under {MAX_TITLE} characters." in refused.text
    assert f"Keep the description under {MAX_TEXT} characters." in refused.text
    assert await Deliverable.count() == 1


async def test_ready_is_refused_without_a_version_or_twice_and_audited_once(http, world, settings):
    await sign_in_staff(http, world.workspace, world.staff)
    await post_form(http, base(world), {"title": "Poster", "description": ""})
    draft = (await Deliverable.select(Deliverable.id).first())["id"]
    refused = await post_form(http, f"{base(world)}/{draft}/ready")
    assert refused.status_code == 409 and "Upload a version before asking for a review." in refused.text
    waiting = await make_deliverable(settings, world.workspace, world.project_a, "Logo", status="work_in_progress")
    assert (await post_form(http, f"{base(world)}/{waiting}/ready")).status_code == 303
    again = await post_form(http, f"{base(world)}/{waiting}/ready")
    assert again.status_code == 409 and "This deliverable is already waiting for the client&#39;s review." in again.text
    event = await only_event("deliverable.ready_for_review")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == ("deliverable", waiting, {"version": 1})


async def test_a_deleted_deliverable_is_audited_with_its_title(http, world, settings):
    doomed = await make_deliverable(settings, world.workspace, world.project_a, "Old poster", status="draft")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"{base(world)}/{doomed}/delete")).status_code == 303
    assert await Deliverable.count() == 0
    event = await only_event("deliverable.deleted")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == ("deliverable", doomed, {"title": "Old poster"})


async def decide(http, world, project: int, deliverable: int) -> None:
    client = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    await sign_in_client(client, world.workspace, world.alice)
    url = f"/p/acme/projects/{project}/deliverables/{deliverable}/approve"
    assert (await post_form(client, url, {"version": "1"})).status_code == 303


async def recipients(template_word: str = "") -> list[str]:
    return sorted(row["to_address"] for row in await OutboxMessage.select(OutboxMessage.to_address))


async def test_the_decision_goes_to_the_active_lead_only(http, world, settings):
    from tests.factories import grant

    lee = await make_staff(world.workspace, "lee@acme.example", role="member")
    await make_staff(world.workspace, "otto@acme.example", role="owner")
    project = await make_project(world.workspace, world.org_a, "Campaign", lead=lee, status="active")
    await grant(world.workspace, project, world.alice)
    deliverable = await make_deliverable(settings, world.workspace, project, "Banner")
    await decide(http, world, project, deliverable)
    assert await recipients() == ["lee@acme.example"]


async def test_without_an_active_lead_the_decision_goes_to_the_owners(http, world, settings):
    from tests.factories import grant

    lee = await make_staff(world.workspace, "lee@acme.example", role="member")
    await make_staff(world.workspace, "otto@acme.example", role="owner")
    await make_staff(world.workspace, "ada@acme.example", role="admin")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == lee)
    project = await make_project(world.workspace, world.org_a, "Campaign", lead=lee, status="active")
    await grant(world.workspace, project, world.alice)
    deliverable = await make_deliverable(settings, world.workspace, project, "Banner")
    await decide(http, world, project, deliverable)
    assert await recipients() == ["olivia@acme.example", "otto@acme.example"]


# The rules one by one, through the service (no request: no address or agent is kept)


def olivia(world) -> Principal:
    return Principal("staff", world.staff, world.workspace, "olivia@acme.example", "Olivia Owner", 0, "owner")


def alice(world) -> Principal:
    return Principal("client", world.alice, world.workspace, "alice@northwind.example", "Alice Andrews", 0)


async def deliverable_row(deliverable: int) -> dict:
    return await Deliverable.select().where(Deliverable.id == deliverable).first()


async def mails() -> list[dict]:
    return await OutboxMessage.select().order_by(OutboxMessage.id)


def test_a_decision_needs_a_known_choice_a_reason_for_changes_and_a_short_comment():
    with pytest.raises(Invalid) as unknown:
        services.validate_decision("maybe", "Fine.")
    assert unknown.value.errors == {"decision": "Choose Approve or Request changes."}
    with pytest.raises(Invalid) as reasonless:
        services.validate_decision("changes_requested", "  \n ")
    assert reasonless.value.errors == {"comment": "Please tell us what should change."}
    assert services.validate_decision("approved", "   ") == ""
    assert services.validate_decision("changes_requested", "  Warmer.  ") == "Warmer."
    assert services.validate_decision("approved", "a" * services.MAX_COMMENT) == "a" * services.MAX_COMMENT
    with pytest.raises(Invalid) as long:
        services.validate_decision("approved", "a" * (services.MAX_COMMENT + 1))
    assert long.value.errors == {"comment": f"Please keep it under {services.MAX_COMMENT} characters."}


def test_the_lock_message_names_the_day_of_the_approval_when_known():
    assert services.locked_message(dt.datetime(2026, 3, 7, 15, 0, tzinfo=dt.UTC)) == (
        "This deliverable was approved on 7 Mar 2026 and is locked: it can no longer be edited, "
        "replaced or deleted. Create a new deliverable for further work.")
    assert services.locked_message(None).startswith("This deliverable was approved and is locked: ")
    services.ensure_unlocked({"status": "ready_for_review", "approved_at": None})
    with pytest.raises(Conflict) as locked:
        services.ensure_unlocked({"status": "approved", "approved_at": None})
    assert locked.value.message == services.locked_message(None)


async def test_a_decision_records_its_row_status_audit_and_the_leads_email(world, settings, monkeypatch):
    moment = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    banner = await make_deliverable(settings, world.workspace, world.project_a, "Banner")
    await services.decide(settings, alice(world), plan="growth", project_id=world.project_a, deliverable_id=poster,
                          decision="approved", version=1, comment="  Lovely.  ")
    await services.decide(settings, alice(world), plan="growth", project_id=world.project_a, deliverable_id=banner,
                          decision="changes_requested", version=1, comment="Bigger logo.")

    version = await DeliverableVersion.select().where(DeliverableVersion.deliverable == poster).first()
    decision = await ReviewDecision.select().where(ReviewDecision.deliverable == poster).first()
    assert (decision["version"], decision["decision"], decision["client_user"], decision["actor_email"],
            decision["comment"], decision["content_sha256"], decision["ip"], decision["user_agent"],
            decision["created_at"]) == (version["id"], "approved", world.alice, "alice@northwind.example", "Lovely.",
                                        version["content_sha256"], "", "", moment)
    approved, changed = await deliverable_row(poster), await deliverable_row(banner)
    assert (approved["status"], approved["approved_at"], approved["updated_at"]) == ("approved", moment, moment)
    assert (changed["status"], changed["approved_at"], changed["updated_at"]) == ("changes_requested", None, moment)

    event = await only_event("deliverable.approved")
    assert who(event) == (world.workspace, "client", world.alice, False)
    assert (event["target_type"], event["target_id"]) == ("deliverable", poster)
    assert event["detail"] == {"version": 1, "sha256": version["content_sha256"], "decision_id": decision["id"]}
    assert (await only_event("deliverable.changes_requested"))["target_id"] == banner

    first, second = await mails()
    assert (first["to_address"], first["kind"], first["workspace"]) == (
        "olivia@acme.example", "deliverable_decision", world.workspace)
    assert 'Alice Andrews (alice@northwind.example) approved "Poster", version 1, in Northwind website.' in \
        first["text_body"]
    assert "Lovely." in first["text_body"]
    assert f"{settings.base_url}/studio/projects/{world.project_a}/deliverables/{poster}" in first["text_body"]
    assert "requested changes to \"Banner\"" in second["text_body"] and "Bigger logo." in second["text_body"]


async def test_a_decision_is_refused_off_review_on_an_old_or_missing_version_or_twice(world, settings):
    def deciding(deliverable: int, version: int = 1, plan: str = "growth"):
        return services.decide(settings, alice(world), plan=plan, project_id=world.project_a,
                               deliverable_id=deliverable, decision="approved", version=version, comment="")

    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    with pytest.raises(Forbidden) as plan:
        await deciding(poster, plan="starter")
    assert plan.value.message == "Deliverable approvals is not included in the Starter plan."
    with pytest.raises(Conflict) as old:
        await deciding(poster, version=2)
    assert old.value.message == \
        "Version 1 is the one up for review now. Please reload the page and look at it first."
    await Deliverable.update({Deliverable.current_version: 2}).where(Deliverable.id == poster)
    with pytest.raises(Conflict) as missing:
        await deciding(poster, version=2)
    assert missing.value.message == "This version is no longer available. Reload the page."
    await Deliverable.update({Deliverable.current_version: 1}).where(Deliverable.id == poster)
    await deciding(poster)
    await Deliverable.update({Deliverable.status: "ready_for_review"}).where(Deliverable.id == poster)
    with pytest.raises(Conflict) as twice:
        await deciding(poster)
    assert twice.value.message == \
        "A decision on this version was just recorded by someone else. Reload the page to see it."
    await Deliverable.update({Deliverable.status: "changes_requested"}).where(Deliverable.id == poster)
    with pytest.raises(Conflict) as off:
        await deciding(poster)
    assert off.value.message == \
        "This deliverable is not waiting for your review any more. Reload the page to see its status."
    await Deliverable.update({Deliverable.status: "draft"}).where(Deliverable.id == poster)
    with pytest.raises(NotFound):
        await deciding(poster)
    assert await ReviewDecision.count() == 1


async def test_the_lead_must_be_this_workspaces_and_the_fallback_is_each_active_owner_once(world, settings):
    other = await make_workspace("globex-studio", "Other studio")
    stranger = await make_staff(other, "stranger@other.example")
    await make_staff(world.workspace, "otto@acme.example", role="owner")
    await make_staff(world.workspace, "ada@acme.example", role="admin")
    gone = await make_staff(world.workspace, "gone@acme.example", role="owner")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == gone)

    assert await services._lead_addresses(world.workspace, world.staff) == ["olivia@acme.example"]
    owners = ["olivia@acme.example", "otto@acme.example"]
    assert await services._lead_addresses(world.workspace, stranger) == owners
    assert await services._lead_addresses(world.workspace, None) == owners
    assert await services._lead_addresses(world.workspace, None, ("owner", "admin")) == [
        "ada@acme.example", "olivia@acme.example", "otto@acme.example"]


async def test_review_goes_to_active_clients_with_a_live_grant_to_that_project_only(world, settings, monkeypatch):
    today = clock.today()
    late = await make_client(world.workspace, world.org_a, "late@northwind.example")
    await grant(world.workspace, world.project_a, late, expires_on=today)
    expired = await make_client(world.workspace, world.org_a, "expired@northwind.example")
    await grant(world.workspace, world.project_a, expired, expires_on=today - dt.timedelta(days=1))
    revoked = await make_client(world.workspace, world.org_a, "revoked@northwind.example")
    access = await grant(world.workspace, world.project_a, revoked)
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.id == access)
    inactive = await make_client(world.workspace, world.org_a, "inactive@northwind.example")
    await grant(world.workspace, world.project_a, inactive)
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == inactive)

    assert await services.review_recipients(world.workspace, world.project_a) == [
        "alice@northwind.example", "late@northwind.example"]
    assert await services.review_recipients(world.workspace, world.project_b) == ["carol@globex.example"]
    other = await make_workspace("globex-studio", "Other studio")
    assert await services.review_recipients(other, world.project_a) == []


async def test_ready_for_review_emails_each_client_with_the_note_and_nothing_while_the_portal_is_off(world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster", status="in_progress")
    await DeliverableVersion.update({DeliverableVersion.note: "See the colours."}).where(
        DeliverableVersion.deliverable == poster)
    ben = await make_client(world.workspace, world.org_a, "ben@northwind.example")
    await grant(world.workspace, world.project_a, ben)
    assert await services.mark_ready(settings, olivia(world), world.project_a, poster) == 2
    row = await deliverable_row(poster)
    assert row["status"] == "ready_for_review" and row["ready_at"] is not None and row["ready_at"] == row["updated_at"]
    mail, other = await mails()
    assert other["to_address"] == "ben@northwind.example"
    assert (mail["to_address"], mail["kind"], mail["subject"]) == (
        "alice@northwind.example", "deliverable_ready", "Ready for your review: Poster")
    assert '"Poster" (version 1) in Northwind website' in mail["text_body"]
    assert "Note from the team: See the colours." in mail["text_body"]
    assert f"/projects/{world.project_a}/deliverables/{poster}" in mail["text_body"]

    banner = await make_deliverable(settings, world.workspace, world.project_a, "Banner", status="in_progress")
    await Workspace.update({Workspace.portal_enabled: False}).where(Workspace.id == world.workspace)
    assert await services.mark_ready(settings, olivia(world), world.project_a, banner) == 0
    assert (await deliverable_row(banner))["status"] == "ready_for_review"
    assert await OutboxMessage.count() == 2
    with pytest.raises(Conflict) as again:
        await services.mark_ready(settings, olivia(world), world.project_a, banner)
    assert again.value.message == "This deliverable is already waiting for the client's review."
    await Deliverable.update({Deliverable.status: "draft", Deliverable.current_version: 0}).where(
        Deliverable.id == banner)
    with pytest.raises(Conflict) as versionless:
        await services.mark_ready(settings, olivia(world), world.project_a, banner)
    assert versionless.value.message == "Upload a version before asking for a review."


async def test_a_reply_is_tied_to_the_current_version_when_it_exists(world, settings):
    await make_deliverable(settings, world.workspace, world.project_a, "Earlier")
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster", status="in_progress")
    await services.upload_version(settings, olivia(world), world.project_a, poster, filename="v2.png", data=PNG_1PX)
    second = await DeliverableVersion.select(DeliverableVersion.id).where(
        (DeliverableVersion.deliverable == poster) & (DeliverableVersion.number == 2)).first()
    await services.staff_reply(settings, olivia(world), world.project_a, poster, body="On v2")
    await Deliverable.update({Deliverable.current_version: 7}).where(Deliverable.id == poster)
    await services.staff_reply(settings, olivia(world), world.project_a, poster, body="On nothing")
    replies = await DeliverableComment.select(DeliverableComment.body, DeliverableComment.version).order_by(
        DeliverableComment.id)
    assert [(r["body"], r["version"]) for r in replies] == [("On v2", second["id"]), ("On nothing", None)]
    with pytest.raises(Invalid):
        services.clean_reply(None)


async def test_ready_is_refused_for_a_decided_version_until_a_new_one_is_uploaded(world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await services.decide(settings, alice(world), plan="growth", project_id=world.project_a, deliverable_id=poster,
                          decision="changes_requested", version=1, comment="Warmer.")
    with pytest.raises(Conflict) as decided:
        await services.mark_ready(settings, olivia(world), world.project_a, poster)
    assert decided.value.message == \
        "The client already decided on version 1. Upload a new version before asking for another review."
    assert await services.upload_version(settings, olivia(world), world.project_a, poster, filename="v2.png",
                                         data=PNG_1PX) == 2
    assert (await deliverable_row(poster))["status"] == "in_progress"
    assert await services.mark_ready(settings, olivia(world), world.project_a, poster) == 1
    assert (await only_event("deliverable.ready_for_review"))["detail"] == {"version": 2}


async def test_a_version_upload_numbers_records_and_audits_it_and_reopens_only_what_clients_see(world, settings):
    draft = await make_deliverable(settings, world.workspace, world.project_a, "Draft", status="draft")
    waiting = await make_deliverable(settings, world.workspace, world.project_a, "Waiting")
    changes = await make_deliverable(settings, world.workspace, world.project_a, "Changes", status="changes_requested")
    number = await services.upload_version(settings, olivia(world), world.project_a, draft,
                                           filename="../art/.\x00cover.png", data=PNG_1PX, note="  First cut.  ")
    assert number == 2
    version = await DeliverableVersion.select().where(
        (DeliverableVersion.deliverable == draft) & (DeliverableVersion.number == 2)).first()
    assert (version["filename"], version["content_type"], version["size"], version["note"], version["uploaded_by"]) == (
        "cover.png", "image/png", len(PNG_1PX), "First cut.", world.staff)
    assert version["content_sha256"] == hashlib.sha256(PNG_1PX).hexdigest()
    row = await deliverable_row(draft)
    assert (row["current_version"], row["status"]) == (2, "draft")
    event = await only_event("deliverable.version_uploaded")
    assert who(event) == (world.workspace, "staff", world.staff, False)
    assert (event["target_type"], event["target_id"], event["detail"]) == (
        "deliverable", draft, {"version": 2, "sha256": version["content_sha256"]})
    assert await services.upload_version(settings, olivia(world), world.project_a, draft, filename="c.png",
                                         data=PNG_1PX) == 3
    third = await DeliverableVersion.select().where(
        (DeliverableVersion.deliverable == draft) & (DeliverableVersion.number == 3)).first()
    assert (third["filename"], third["note"]) == ("c.png", "")
    for reopened in (waiting, changes):
        assert await services.upload_version(settings, olivia(world), world.project_a, reopened, filename="c.png",
                                             data=PNG_1PX) == 2
        assert (await deliverable_row(reopened))["status"] == "in_progress"


async def test_a_version_upload_is_refused_without_bytes_with_a_long_note_or_once_approved(world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster", status="in_progress")

    async def refused(**kwargs) -> dict:
        with pytest.raises(Invalid) as error:
            await services.upload_version(settings, olivia(world), world.project_a, poster,
                                          **{"filename": "a.png", "data": PNG_1PX, **kwargs})
        return error.value.errors

    assert await refused(data=None) == {"file": "Choose a file to upload."}
    assert await refused(data=b"") == {"file": "Choose a file to upload."}
    assert await refused(note="n" * (services.MAX_TEXT + 1)) == {
        "note": f"Keep the note under {services.MAX_TEXT} characters."}
    assert await refused(data=b"x" * (settings.max_upload_bytes + 1)) == {
        "file": f"The file is larger than the {settings.max_upload_bytes // (1024 * 1024)} MB limit."}
    await services.upload_version(settings, olivia(world), world.project_a, poster, filename="a.png",
                                  data=PNG_1PX, note="n" * services.MAX_TEXT)
    await Deliverable.update({Deliverable.status: "approved"}).where(Deliverable.id == poster)
    with pytest.raises(Conflict):
        await services.upload_version(settings, olivia(world), world.project_a, poster, filename="a.png", data=PNG_1PX)
    assert await DeliverableVersion.count() == 2


def test_an_uploaded_name_keeps_its_last_part_without_control_characters_or_leading_dots():
    assert services.clean_filename("C:\\Users\\me\\brief.pdf") == "brief.pdf"
    assert services.clean_filename("a/b/..hidden.txt") == "hidden.txt"
    assert services.clean_filename("Xmas card.png") == "Xmas card.png"
    assert services.clean_filename(" na\x07me\u200b.png ") == "name.png"
    assert services.clean_filename("x" * 300 + ".png") == ("x" * 300 + ".png")[-255:]
    assert services.clean_filename(None) == services.clean_filename("") == services.clean_filename("...") == "file"


def test_a_title_and_description_are_trimmed_and_checked_at_their_limits():
    assert services.clean_fields("  Poster ", " Big.  ") == ("Poster", "Big.")
    assert services.clean_fields("t" * services.MAX_TITLE, "d" * services.MAX_TEXT)[0] == "t" * services.MAX_TITLE
    with pytest.raises(Invalid) as empty:
        services.clean_fields("   ", "")
    assert empty.value.errors == {"title": "Give the deliverable a title."}


async def test_staff_reach_only_their_workspaces_deliverables_of_that_project(world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    other = await make_workspace("globex-studio", "Other studio")
    stranger = Principal("staff", await make_staff(other, "s@other.example"), other, "s@other.example", "", 0, "owner")
    assert (await services.staff_project(olivia(world), world.project_a))["client"] == "Northwind"
    assert (await services.staff_deliverable(olivia(world), world.project_a, poster))["title"] == "Poster"
    for call in (services.staff_project(stranger, world.project_a),
                 services.staff_deliverable(stranger, world.project_a, poster),
                 services.staff_deliverable(olivia(world), world.project_b, poster),
                 services.edit(stranger, world.project_a, poster, title="X", description=""),
                 services.delete(stranger, world.project_a, poster),
                 services.create(stranger, world.project_a, title="X", description="")):
        with pytest.raises(NotFound):
            await call
    assert (await deliverable_row(poster))["title"] == "Poster" and await Deliverable.count() == 1


async def test_an_edit_changes_title_description_and_time_and_an_approved_one_refuses(world, settings, monkeypatch):
    moment = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    banner = await make_deliverable(settings, world.workspace, world.project_a, "Banner")
    await services.edit(olivia(world), world.project_a, poster, title=" Poster B ", description=" New. ")
    row = await deliverable_row(poster)
    assert (row["title"], row["description"], row["updated_at"]) == ("Poster B", "New.", moment)
    assert (await deliverable_row(banner))["title"] == "Banner"
    await Deliverable.update({Deliverable.status: "approved", Deliverable.approved_at: moment}).where(
        Deliverable.id == poster)
    for call in (services.edit(olivia(world), world.project_a, poster, title="X", description=""),
                 services.delete(olivia(world), world.project_a, poster)):
        with pytest.raises(Conflict) as locked:
            await call
        assert locked.value.message == services.locked_message(moment)
    assert (await deliverable_row(poster))["title"] == "Poster B"


async def test_files_and_previews_of_a_version_are_found_by_number_and_downloads_are_audited(world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    brochure = await make_deliverable(settings, world.workspace, world.project_a, "Brochure", content=DEMO_PDF,
                                      filename="brochure.pdf")
    archive = await make_deliverable(settings, world.workspace, world.project_a, "Archive", content=b"PK\x03\x04zip",
                                     filename="all.zip")
    facts = await services.version_file(poster, 1)
    assert facts == {"number": 1, "filename": "design.png", "content_type": "image/png", "size": len(PNG_1PX),
                     "content_sha256": hashlib.sha256(PNG_1PX).hexdigest()}
    with pytest.raises(NotFound):
        await services.version_file(poster, 2)
    with pytest.raises(NotFound):
        await services.version_file(brochure, 2)
    with pytest.raises(NotFound):  # an image has no preview of its own
        await services.version_preview(poster, 1)

    await services.client_version_file(alice(world), world.project_a, poster, 1, download=False)
    assert await events("deliverable.download") == []
    await services.client_version_file(alice(world), world.project_a, poster, 1, download=True)
    zipped = await services.client_version_file(alice(world), world.project_a, archive, 1, download=False)
    assert zipped["content_type"] not in ("image/png", "application/pdf")
    downloads = await events("deliverable.download")
    assert [(e["workspace"], e["target_type"], e["target_id"], e["detail"]["version"], e["actor_id"])
            for e in downloads] == [(world.workspace, "deliverable", poster, 1, world.alice),
                                    (world.workspace, "deliverable", archive, 1, world.alice)]
    assert downloads[0]["detail"]["sha256"] == facts["content_sha256"]
    carol = Principal("client", world.carol, world.workspace, "carol@globex.example", "Carol Chen", 0)
    with pytest.raises(NotFound):
        await services.client_version_file(carol, world.project_a, poster, 1, download=True)
    assert len(await events("deliverable.download")) == 2


async def test_replies_are_checked_and_go_to_the_other_side(world, settings, monkeypatch):
    moment = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    with pytest.raises(Invalid) as empty:
        services.clean_reply("   ")
    assert empty.value.errors == {"body": "Write a reply before sending."}
    with pytest.raises(Invalid) as long:
        services.clean_reply("r" * (services.MAX_COMMENT + 1))
    assert long.value.errors == {
        "body": f"Please keep your reply under {services.MAX_COMMENT} characters (it has {services.MAX_COMMENT + 1})."}
    assert services.clean_reply("  " + "r" * services.MAX_COMMENT + " ") == "r" * services.MAX_COMMENT

    await make_staff(world.workspace, "ada@acme.example", role="admin")
    await make_staff(world.workspace, "max@acme.example", role="member")
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await Project.update({Project.lead: None}).where(Project.id == world.project_a)
    sent = await services.client_reply(settings, alice(world), plan="growth", project_id=world.project_a,
                                       deliverable_id=poster, body="  Looks good?  ")
    assert sent == 2
    comment = await DeliverableComment.select().first()
    version = await DeliverableVersion.select(DeliverableVersion.id).first()
    assert (comment["deliverable"], comment["version"], comment["client_user"], comment["staff"], comment["body"],
            comment["created_at"]) == (poster, version["id"], world.alice, None, "Looks good?", moment)
    event = await only_event("deliverable.replied")
    assert who(event) == (world.workspace, "client", world.alice, False)
    assert (event["target_type"], event["target_id"], event["detail"]) == (
        "deliverable", poster, {"comment_id": comment["id"]})
    staff_mails = await mails()
    assert sorted(m["to_address"] for m in staff_mails) == ["ada@acme.example", "olivia@acme.example"]
    assert {(m["kind"], m["workspace"]) for m in staff_mails} == {("deliverable_reply", world.workspace)}
    assert 'Alice Andrews (alice@northwind.example) replied about "Poster" in Northwind website:' in \
        staff_mails[0]["text_body"]
    with pytest.raises(Forbidden):
        await services.client_reply(settings, alice(world), plan="starter", project_id=world.project_a,
                                    deliverable_id=poster, body="Hi")

    ben = await make_client(world.workspace, world.org_a, "ben@northwind.example")
    await grant(world.workspace, world.project_a, ben)
    assert await services.staff_reply(settings, olivia(world), world.project_a, poster, body="Yes!") == 2
    reply = (await mails())[-2]
    assert [m["to_address"] for m in (await mails())[-2:]] == ["alice@northwind.example", "ben@northwind.example"]
    assert reply["kind"] == "deliverable_reply_client"
    assert 'Olivia Owner of Acme Agency replied about "Poster" in Northwind website:' in reply["text_body"]
    assert f"/projects/{world.project_a}/deliverables/{poster}" in reply["text_body"]
    staff_comment = (await DeliverableComment.select().order_by(DeliverableComment.id))[-1]
    assert (staff_comment["staff"], staff_comment["client_user"], staff_comment["version"],
            staff_comment["created_at"]) == (world.staff, None, version["id"], moment)
    event = (await events("deliverable.replied"))[-1]
    assert who(event) == (world.workspace, "staff", world.staff, False)
    assert (event["target_type"], event["target_id"], event["detail"]) == (
        "deliverable", poster, {"comment_id": staff_comment["id"]})

    hidden = await make_deliverable(settings, world.workspace, world.project_a, "Hidden", status="in_progress")
    await Deliverable.update({Deliverable.current_version: 0}).where(Deliverable.id == hidden)
    assert await services.staff_reply(settings, olivia(world), world.project_a, hidden, body="Internal") == 0
    assert (await DeliverableComment.select().order_by(DeliverableComment.id))[-1]["version"] is None
    await Workspace.update({Workspace.portal_enabled: False}).where(Workspace.id == world.workspace)
    count = await OutboxMessage.count()
    assert await services.staff_reply(settings, olivia(world), world.project_a, poster, body="Off") == 0
    assert await OutboxMessage.count() == count


async def test_a_file_used_by_an_approved_deliverable_of_this_workspace_cannot_be_deleted(world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster", status="approved")
    version = await DeliverableVersion.select().where(DeliverableVersion.deliverable == poster).first()
    message = ('This file cannot be deleted: it is version 1 of the approved deliverable "Poster", '
               "whose record must keep its file. Nothing was changed.")
    assert await services.approved_use_of(world.workspace, version["stored_file"], "0" * 64) == message
    assert await services.approved_use_of(world.workspace, -1, version["content_sha256"]) == message
    assert await services.approved_use_of(world.workspace, -1, "0" * 64) == ""
    other = await make_workspace("globex-studio", "Other studio")
    assert await services.approved_use_of(other, version["stored_file"], version["content_sha256"]) == ""
    await Deliverable.update({Deliverable.status: "changes_requested"}).where(Deliverable.id == poster)
    assert await services.approved_use_of(world.workspace, version["stored_file"], version["content_sha256"]) == ""


async def test_what_waits_for_a_client_is_what_is_ready_in_the_projects_given(world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await make_deliverable(settings, world.workspace, world.project_a, "Sketch", status="in_progress")
    await make_deliverable(settings, world.workspace, world.project_b, "Banner")
    waiting = await services.waiting_for(alice(world), [world.project_a], "/p/acme")
    assert [(w.title, w.project_name, w.url) for w in waiting] == [
        ("Poster", "Northwind website", f"/p/acme/projects/{world.project_a}/deliverables/{poster}")]
    assert await services.waiting_for(alice(world), [], "/p/acme") == []


async def test_a_decision_keeps_the_agent_cut_to_500_characters_or_none_when_not_sent(http, world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    banner = await make_deliverable(settings, world.workspace, world.project_a, "Banner")
    await sign_in_client(http, world.workspace, world.alice)
    url = f"/p/acme/projects/{world.project_a}/deliverables"
    sent = await post_form(http, f"{url}/{poster}/approve", {"version": "1"}, headers={"user-agent": "a" * 600})
    assert sent.status_code == 303
    del http.headers["user-agent"]
    assert (await post_form(http, f"{url}/{banner}/approve", {"version": "1"})).status_code == 303
    agents = {r["deliverable"]: r["user_agent"] for r in await ReviewDecision.select(
        ReviewDecision.deliverable, ReviewDecision.user_agent)}
    assert agents == {poster: "a" * 500, banner: ""}
    assert [(e["target_id"], e["ip"]) for e in await events("deliverable.approved")] == [
        (poster, "203.0.113.7"), (banner, "203.0.113.7")]


async def test_the_studio_lists_every_status_and_the_portal_only_what_clients_see(world, settings):
    await make_deliverable(settings, world.workspace, world.project_a, "Draft", status="draft")
    await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    studio = await services.cards(world.workspace, world.project_a, "/studio", client_view=False)
    portal = await services.cards(world.workspace, world.project_a, "/p/acme")
    assert sorted(c.title for c in studio) == ["Draft", "Poster"]
    assert [c.title for c in portal] == ["Poster"]


async def test_a_version_uploaded_in_the_studio_is_audited_with_the_request(http, world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster", status="in_progress")
    await sign_in_staff(http, world.workspace, world.staff)
    uploaded = await post_form(http, f"{base(world)}/{poster}/versions", {"note": ""},
                               files={"file": ("v2.png", PNG_1PX, "image/png")})
    assert uploaded.status_code == 303
    event = await only_event("deliverable.version_uploaded")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]["version"]) == ("deliverable", poster, 2)


async def test_a_clients_own_replies_are_marked_as_theirs_on_their_page(world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await services.client_reply(settings, alice(world), plan="growth", project_id=world.project_a,
                                deliverable_id=poster, body="Mine")
    await services.staff_reply(settings, olivia(world), world.project_a, poster, body="Ours")
    _, row = await services.client_deliverable(alice(world), world.project_a, poster)
    page = await services.detail(row, "/p/acme", viewer_client=world.alice)
    assert sorted((item.body, item.own) for item in page.thread) == [("Mine", True), ("Ours", False)]
    studio = await services.detail(row, "/studio")
    assert {item.own for item in studio.thread} == {False}
