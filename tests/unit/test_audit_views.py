"""The audit area's pure views: ages, labels, who did it and where the link goes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.audit.views import EVENT_LABELS, activity_row, age_label, event_label, project_href

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
ROUTES = frozenset({"/studio/projects/{project_id:int}/deliverables", "/studio/activity"})


@pytest.mark.parametrize("then, label", [
    (NOW, "less than a minute"),
    (NOW - dt.timedelta(seconds=59), "less than a minute"),
    (NOW - dt.timedelta(minutes=1), "1 minute"),
    (NOW - dt.timedelta(minutes=59), "59 minutes"),
    (NOW - dt.timedelta(hours=1), "1 hour"),
    (NOW - dt.timedelta(hours=23, minutes=59), "23 hours"),
    (NOW - dt.timedelta(days=1), "1 day"),
    (NOW - dt.timedelta(days=3, hours=5), "3 days"),
    (NOW + dt.timedelta(hours=2), "less than a minute"),  # a clock a little ahead is not "-2 hours"
    (dt.date(2026, 11, 27), "5 days"),
    (dt.date(2026, 12, 2), "today"),
    (None, ""),
])
def test_age_label(then, label):
    assert age_label(then, NOW) == label


def test_every_recorded_event_name_has_a_label_and_unknown_ones_read_well():
    assert event_label("deliverable.approved") == "Approved a deliverable"
    assert event_label("something_new.happened") == "Something new happened"
    assert all(label and label[0].isupper() for label in EVENT_LABELS.values())


def test_project_links_fall_back_to_a_route_that_exists():
    assert project_href(7, "billing", ROUTES) == "/studio/projects/7/deliverables"
    with_overview = ROUTES | {"/studio/projects/{project_id:int}"}
    assert project_href(7, "billing", with_overview) == "/studio/projects/7"
    with_billing = with_overview | {"/studio/projects/{project_id:int}/billing"}
    assert project_href(7, "billing", with_billing) == "/studio/projects/7/billing"


def event(**fields) -> dict:
    row = {"id": 1, "created_at": NOW, "actor_kind": "client", "actor_id": 4, "actor_email": "a@x.example",
           "action": "deliverable.approved", "target_type": "deliverable", "target_id": 9, "detail": "",
           "project": None, "ip": "203.0.113.7"}
    return {**row, **fields}


def test_a_client_sign_in_names_the_person_from_its_target():
    row = activity_row(event(actor_kind="anonymous", actor_id=None, actor_email="", action="login",
                             target_type="client_user", target_id=4),
                       people={("client", 4): "Alice (Northwind)"}, deliverables={}, projects={}, routes=ROUTES)
    assert (row.who, row.who_kind, row.label) == ("Alice (Northwind)", "Client", "Signed in")
    assert row.href == "/studio/activity?kind=login"
    with_clients = activity_row(event(actor_kind="anonymous", actor_id=None, action="login", target_type="client_user",
                                      target_id=4), people={}, deliverables={}, projects={},
                                routes=ROUTES | {"/studio/clients/{org_id:int}"}, client_orgs={4: 2})
    assert with_clients.href == "/studio/clients/2" and with_clients.who == "a@x.example"


def test_a_deliverable_event_links_to_the_deliverable_and_names_its_project():
    row = activity_row(event(), people={("client", 4): "Alice"}, deliverables={9: {"title": "Poster", "project": 3}},
                       projects={3: "Website"}, routes=ROUTES)
    assert (row.subject, row.href, row.project_name) == ("Poster", "/studio/projects/3/deliverables/9", "Website")


def test_feedback_and_files_link_to_their_pages_and_bad_detail_is_ignored():
    feedback = activity_row(event(action="feedback_sent", target_type="feedback_message", target_id=5, project=3,
                                  detail=json.dumps({"task_id": 11, "subject": "Menu"})),
                            people={}, deliverables={}, projects={3: "Website"}, routes=ROUTES)
    assert (feedback.subject, feedback.href, feedback.who) == ("Menu", "/studio/inbox/11", "a@x.example")
    file = activity_row(event(action="file_downloaded", target_type="project_file", project=3,
                              detail=json.dumps({"name": "brief.pdf"})), people={}, deliverables={}, projects={},
                        routes=ROUTES)
    assert (file.subject, file.href) == ("brief.pdf", "/studio/projects/3/files")
    broken = activity_row(event(action="file_downloaded", target_type="project_file", detail="{not json"),
                          people={}, deliverables={}, projects={}, routes=ROUTES)
    assert broken.subject == "" and broken.label == "Downloaded a file"
    system = activity_row(event(actor_kind="system", actor_id=None, actor_email="", action="invoice_paid",
                                target_type="invoice"), people={}, deliverables={}, projects={}, routes=ROUTES)
    assert (system.who, system.who_kind) == ("The system", "System")
