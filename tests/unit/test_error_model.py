"""One error model: services raise the domain's errors, the web layer alone maps them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, RateLimited
from portal.web.errors import status_of

PORTAL = Path(__file__).resolve().parents[2] / "portal"
#: The HTTP side: routes and the cross-cutting web layer may speak Litestar's exceptions.
HTTP_MODULES = re.compile(r"(^web/|routes\.py$|^app\.py$)")


@pytest.mark.parametrize("error, status", [
    (NotFound(), 404), (Forbidden(), 403), (RateLimited(retry_after=60), 429), (Conflict(), 409),
    (Invalid({"email": "Enter an email address."}), 422),
])
def test_each_domain_error_has_one_status(error, status):
    assert isinstance(error, DomainError)
    assert status_of(error) == status


def test_invalid_carries_a_message_per_field():
    error = Invalid({"subject": "Enter a subject.", "message": "Write your message."})
    assert error.errors == {"subject": "Enter a subject.", "message": "Write your message."}
    assert error.field == "subject" and error.message == "Enter a subject." and str(error) == "Enter a subject."
    assert Invalid("Too short.", field="name").errors == {"name": "Too short."}
    with pytest.raises(ValueError):
        Invalid({})


def test_only_the_http_side_raises_litestar_exceptions():
    offenders = []
    for path in PORTAL.rglob("*.py"):
        relative = path.relative_to(PORTAL).as_posix()
        if "piccolo_migrations" in relative or HTTP_MODULES.search(relative):
            continue
        if re.search(r"litestar\.exceptions|HTTPException|NotFoundException|PermissionDeniedException", path.read_text()):
            offenders.append(relative)
    assert offenders == []


def test_no_exception_class_of_its_own_crosses_into_the_web_layer():
    """Form errors come back one way: the routes catch only the domain's errors."""
    caught = set()
    for path in PORTAL.rglob("*routes.py"):
        caught |= set(re.findall(r"except \(?([\w., ]+?)\)? as", path.read_text()))
    names = {name.strip().split(".")[-1] for group in caught for name in group.split(",")}
    assert names <= {"Invalid", "Conflict", "SignInRefused"}, names
