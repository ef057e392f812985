"""What each plan includes. Gating is enforced on the server with ``require``."""

from __future__ import annotations

from portal.errors import Forbidden

FEATURES: dict[str, frozenset[str]] = {
    # progress view, invoice payments and read-only deliverables are on every plan
    "starter": frozenset({"progress", "deliverables_view", "payments", "branding_partial"}),
    "growth": frozenset(
        {"progress", "deliverables_view", "approvals", "payments", "custom_domain", "branding_partial",
         "branding_full", "feedback"}
    ),
    "scale": frozenset(
        {"progress", "deliverables_view", "approvals", "payments", "custom_domain", "branding_partial",
         "branding_full", "feedback"}
    ),
}

LABELS = {"approvals": "Deliverable approvals", "feedback": "Feedback", "custom_domain": "Custom domain",
          "branding_full": "Full branding"}


def allows(plan: str, feature: str) -> bool:
    return feature in FEATURES.get(plan, frozenset())


def require(plan: str, feature: str) -> None:
    """Refuse (403 with a clear message) when ``plan`` does not include ``feature``."""
    if not allows(plan, feature):
        label = LABELS.get(feature, feature.replace("_", " ").capitalize())
        raise Forbidden(f"{label} is not included in the {plan.capitalize()} plan.")
