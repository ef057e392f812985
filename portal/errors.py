"""The domain's errors: what services raise when a request cannot be done.

Five kinds, and only these, cross the boundary between services and the web layer.
They know nothing of HTTP; ``portal.web.errors`` maps each to a status and to a page,
a fragment or a JSON body, in one place:

- ``NotFound`` (404): no such thing *for this principal*. Also what an outsider gets
  for something that exists but is not theirs (never a 403 with a hint).
- ``Forbidden`` (403): the principal may see this but not do that (a member changing
  settings, a plan without the feature).
- ``Conflict`` (409): the thing is in a state that does not allow it (an approved
  deliverable, a decision already made).
- ``Invalid`` (422): bad input, with a message per form field. A route that shows
  a form catches it and renders the form again with ``errors``; anywhere else it
  becomes an error page with the message.

- ``Unavailable`` (502): a service the portal relies on (Stripe) failed; nothing changed.

``RateLimited`` (429) is a ``Forbidden`` with a ``retry_after``.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of the domain errors; ``message`` is safe to show to the person asking."""

    default_message = "That did not work."

    def __init__(self, message: str = "") -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotFound(DomainError):
    default_message = "That page does not exist, or is not yours to see."


class Forbidden(DomainError):
    default_message = "That is not allowed."


class RateLimited(Forbidden):
    default_message = "Too many attempts. Please wait a few minutes and try again."

    def __init__(self, message: str = "", *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Conflict(DomainError):
    default_message = "That cannot be changed any more."


class Unavailable(DomainError):
    """A service the portal relies on (Stripe) refused or did not answer; nothing changed."""

    default_message = "The payment service did not answer. Nothing was charged; please try again in a minute."


class Invalid(DomainError):
    """Bad input: ``errors`` maps form field names to messages (``""`` for the form as a whole)."""

    def __init__(self, errors: Mapping[str, str] | str, *, field: str = "") -> None:
        self.errors = {field: errors} if isinstance(errors, str) else dict(errors)
        if not self.errors:
            raise ValueError("Invalid needs at least one message")
        super().__init__(next(iter(self.errors.values())))

    @property
    def field(self) -> str:
        """The first field with an error (for forms that show one message)."""
        return next(iter(self.errors))
