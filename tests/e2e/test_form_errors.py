"""Every form that checks its input, with JavaScript on: a refused form shows its error in the form.

Each form is sent with its text fields emptied (or with the bad value given) by a click, so
through htmx where the page boosts its forms (the upload forms of deliverables are plain
posts). The answer must be a 422 shown in the page: the error beside the field, the values
kept, no "That did not work" toast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import demo_links, run_db, sign_in_with

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ERROR = ".field__error, [data-testid=form-error], .alert--error"


@dataclass(frozen=True)
class Form:
    path: str  # with {project}, {task}, {deliverable}, {draft}, {sent}, {client}, {person}, {feedback}
    selector: str
    fill: dict[str, str] = field(default_factory=dict)  # field name -> bad value (others are emptied)
    expect: str = ""  # words of the error, where it matters which one shows


STUDIO_FORMS = [
    Form("/studio/projects", "[data-testid=new-project-form]", expect="name"),
    Form("/studio/projects/{project}", "[data-testid=edit-project-form]"),
    Form("/studio/projects/{project}/milestones", "[data-testid=add-milestone-form]"),
    Form("/studio/projects/{project}/milestones", "[data-testid=edit-milestone-form]"),
    Form("/studio/projects/{project}/tasks", "[data-testid=add-task-form]"),
    Form("/studio/projects/{project}/tasks/{task}", "[data-testid=comment-form]"),
    Form("/studio/projects/{project}/tasks/{task}", "[data-testid=edit-task-form]"),
    Form("/studio/projects/{project}/deliverables", "[data-testid=create-deliverable]"),
    Form("/studio/projects/{project}/deliverables/{deliverable}", "[data-testid=edit-form]"),
    Form("/studio/projects/{project}/deliverables/{deliverable}", "[data-testid=upload-form]"),
    Form("/studio/projects/{project}/deliverables/{deliverable}", "[data-testid=reply-form]"),
    Form("/studio/projects/{project}/billing", "[data-testid=create-invoice]", {"due_date": "2020-01-01"}),
    Form("/studio/invoices/{draft}", "[data-testid=line-form]"),
    Form("/studio/invoices/{draft}", "[data-testid=header-form]"),
    Form("/studio/invoices/{sent}", "[data-testid=paid-form]", {"paid_on": "2099-01-01"}, "future"),
    Form("/studio/projects/{project}/files", "[data-testid=rename-form]"),
    Form("/studio/projects/{project}/access", "[data-testid=invite-form]", {"email": "bob@"}),
    Form("/studio/clients", "[data-testid=new-client-form]"),
    Form("/studio/clients/{client}", "[data-testid=add-person-form]", {"email": "bob@"}),
    Form("/studio/clients/{client}", "[data-testid=rename-form]"),
    Form("/studio/clients/{client}", "[data-testid=delete-client-form]", {"confirm_name": "Someone else"}, "exactly as shown"),
    Form("/studio/clients/{client}/people/{person}", "[data-testid=edit-person-form]", {"email": "bob@"}),
    Form("/studio/team", "form[action='/studio/team']", {"email": "bob@"}),
    Form("/studio/settings/portal", "[data-testid=portal-settings]", {"accent_color": "red"}, "colour"),
    Form("/studio/settings/portal", "[data-testid=domain-form]", {"domain": "192.0.2.1"}, "not an IP address"),
    Form("/studio/settings/billing", "[data-testid=numbering-form]", {"prefix": "IN V"}),
    Form("/studio/settings/billing", "[data-testid=instructions-form]", {"payment_instructions": "x" * 2001}, "2000"),
    Form("/studio/settings/payments", "[data-testid=keys-form]", {"secret_key": "sk_nope"}, "sk_test_"),
    Form("/studio/inbox/{feedback}", "[data-testid=reply-form]"),
]
PORTAL_FORMS = [
    # Its fields are required in the browser too: a blank subject gets past that, not past the server.
    Form("/p/demo/projects/{project}/feedback", "[data-testid=feedback-form]", {"subject": "   ", "message": "Hi"}),
    Form("/p/demo/projects/{project}/deliverables/{review}", "[data-testid=request-changes-form]"),
    Form("/p/demo/projects/{project}/deliverables/{review}", "[data-testid=reply-form]"),
]


def demo_ids() -> dict[str, int]:
    async def work():
        from portal.accounts.tables import ClientOrganisation, ClientUser
        from portal.billing.tables import Invoice
        from portal.deliverables.tables import Deliverable
        from portal.feedback.tables import FeedbackMessage
        from portal.projects.tables import Project, Task

        project = (await Project.select(Project.id).where(Project.name == "Website redesign").first())["id"]
        client = await ClientOrganisation.select(ClientOrganisation.id).where(
            ClientOrganisation.name == "Northwind Traders").first()
        person = await ClientUser.select(ClientUser.id).where(ClientUser.email == "alice@northwind.example").first()
        review = await Deliverable.select(Deliverable.id).where(
            (Deliverable.project == project) & (Deliverable.status == "ready_for_review")).first()
        feedback = await FeedbackMessage.select(FeedbackMessage.task).first()
        return {
            "project": project,
            "task": (await Task.select(Task.id).where(Task.project == project).first())["id"],
            "deliverable": (await Deliverable.select(Deliverable.id).where(Deliverable.project == project).first())["id"],
            "review": review["id"],
            "draft": (await Invoice.select(Invoice.id).where(Invoice.status == "draft").first())["id"],
            "sent": (await Invoice.select(Invoice.id).where(Invoice.status == "sent").first())["id"],
            "client": client["id"], "person": person["id"], "feedback": feedback["task"],
        }

    return run_db(work)


def send_refused(page: Page, base: str, form: Form, ids: dict[str, int]) -> list[str]:
    """Send ``form`` with bad input; what went wrong (nothing when the error shows in the form)."""
    url = base + form.path.format(**ids)
    page.goto(url)
    target = page.locator(form.selector).first
    if not target.is_visible():
        target.locator("xpath=ancestor::details[1]/summary").click()
    fields = target.locator("input[type=text], input[type=email], input[type=date], input[type=number], "
                            "input[type=password], input:not([type]), textarea")
    for n in range(fields.count()):
        fields.nth(n).fill("")
    for name, value in form.fill.items():
        target.locator(f"[name='{name}']").fill(value)
    try:
        with page.expect_response(lambda r: r.request.method == "POST", timeout=5000) as answer:
            target.locator("button[type=submit]").last.click()
    except PlaywrightTimeout:
        return [f"{form.path} {form.selector}: the browser sent nothing (a required field?)"]
    problems = []
    if answer.value.status != 422:
        problems.append(f"answered {answer.value.status}")
    try:
        expect(page.locator(ERROR).first).to_be_visible(timeout=3000)
    except AssertionError:
        problems.append("no error visible")
    if form.expect and form.expect not in " ".join(page.locator(ERROR).all_inner_texts()):
        problems.append(f"the error does not mention {form.expect!r}")
    for name, value in form.fill.items():
        if value.strip() and "password" != page.locator(f"[name='{name}']").first.get_attribute("type") and \
                page.locator(f"[name='{name}']").first.input_value() != value:
            problems.append(f"{name} lost what was typed")
    if page.locator("#flash-error").is_visible():
        problems.append("the error toast shows: " + page.locator("#flash-error").inner_text())
    return [f"{form.path} {form.selector}: {p}" for p in problems]


def test_every_studio_and_portal_form_shows_its_error_with_javascript(page: Page, fresh_db):
    links = demo_links(fresh_db)
    ids = demo_ids()
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{fresh_db.url}/studio/")
    problems = [p for form in STUDIO_FORMS for p in send_refused(page, fresh_db.url, form, ids)]

    page.context.clear_cookies()
    sign_in_with(page, links["alice@northwind.example"])
    problems += [p for form in PORTAL_FORMS for p in send_refused(page, fresh_db.url, form, ids)]
    assert problems == [], "\n".join(problems)


def test_the_sign_in_forms_show_a_bad_email_with_javascript(page: Page, fresh_db):
    demo_links(fresh_db)
    for path in ("/p/demo/login", "/studio/login"):
        page.goto(fresh_db.url + path)
        page.get_by_label("Email").fill("alice@")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.locator("main button[type=submit]").click()
        assert answer.value.status == 422, path
        expect(page.locator(".field__error")).to_contain_text("email")
        expect(page.get_by_label("Email")).to_have_value("alice@")
        expect(page.locator("#flash-error")).to_be_hidden()


def test_the_walk_knows_every_form_that_leaves_checking_to_the_server():
    """A new form marked ``novalidate`` fails here until the walk above sends it."""
    walked = " ".join(form.selector for form in STUDIO_FORMS + PORTAL_FORMS)
    missing = []
    for template in sorted((ROOT / "templates").glob("*/*.html")):
        for tag in re.findall(r"<form\b[^>]*\bnovalidate\b[^>]*>", template.read_text()):
            testid = re.search(r'data-testid="([^"]+)"', tag)
            action = re.search(r'action="([^"]+)"', tag)
            key = f"[data-testid={testid.group(1)}]" if testid else f"form[action='{action.group(1)}']"
            if key not in walked and not template.name.endswith("login.html"):
                missing.append(f"{template.relative_to(ROOT)}: {key}")
    assert missing == []
