"""new_instance builds the same instance as the model's keyword constructor."""

from datetime import UTC, datetime

import pytest

from delivery.models import Delivery
from webhooks_project.inserts import new_instance


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in Delivery._meta.concrete_fields}


def test_new_instance_matches_the_keyword_constructor_with_its_defaults():
    values = dict(event_id="e" * 22, webhook_id="w" * 22, organization_id="o" * 22,
                  url="https://example.com/hook", next_try_at=datetime(2026, 1, 1, tzinfo=UTC))
    built, expected = new_instance(Delivery, **values), Delivery(**values)
    assert built.id != expected.id and len(built.id) == len(expected.id)  # a new muid each
    assert _fields(built) | {"id": None} == _fields(expected) | {"id": None}
    assert built.status == "pending" and built.tries == 0 and built.last_error == ""
    assert built._state.adding


def test_new_instance_refuses_an_unknown_field():
    with pytest.raises(TypeError, match="no field event"):
        new_instance(Delivery, event="not an attribute name", url="https://example.com")
