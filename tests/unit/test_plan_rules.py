"""What each plan includes, and the message a plan without a feature gets."""

from __future__ import annotations

import pytest

from portal.errors import Forbidden
from portal.workspaces.plans import FEATURES, allows, require


def test_an_unknown_plan_includes_nothing():
    assert not allows("enterprise", "progress")
    with pytest.raises(Forbidden):
        require("enterprise", "progress")


def test_every_plan_includes_what_it_lists():
    for plan, features in FEATURES.items():
        for feature in features:
            assert allows(plan, feature)
            require(plan, feature)  # no error


def test_the_refusal_names_the_feature_and_the_plan():
    with pytest.raises(Forbidden) as refused:
        require("starter", "approvals")
    assert refused.value.message == "Deliverable approvals is not included in the Starter plan."


def test_a_feature_without_a_label_is_named_from_its_key():
    with pytest.raises(Forbidden) as refused:
        require("starter", "time_tracking")
    assert refused.value.message == "Time tracking is not included in the Starter plan."
