"""Form responses: answers validated, merged, required fields checked on submit, submit once."""

import pytest
from django.core.exceptions import ValidationError

from kernel.domain_errors import DomainConflict
from tests.domain import factories as f
from tests.support import builders
from workflows import form_services
from workflows.builder import create_form
from workflows.models import FormField, FormResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return builders.organization()


@pytest.fixture
def actor(org):
    return builders.user(org)


@pytest.fixture
def form(org):
    return create_form(org, "Survey", [
        f.field("rating", "Number", required=True), f.field("email", "Email"),
        f.field("topics", "MultiChoice", options=["api", "ui"]),
    ])


@pytest.fixture
def ids(form):
    return {x.label: x.id for x in FormField.objects.filter(form=form)}


def test_fill_in_and_submit(form, ids, actor):
    response = form_services.create_form_response(form, {ids["Email"]: "a@example.com"},
                                                  actor=actor)
    assert (response.status, response.created_by) == ("InProgress", actor)
    with pytest.raises(ValidationError) as error:
        form_services.submit_form_response(response, actor=actor)
    assert error.value.message_dict == {ids["Rating"]: ["This field is required."]}
    assert FormResponse.objects.get().status == "InProgress"

    form_services.update_form_response(response, {ids["Rating"]: "5", ids["Topics"]: "api"},
                                       actor=actor)
    done = form_services.submit_form_response(response, actor=actor)
    assert (done.status, done.completed_by) == ("Completed", actor)
    stored = FormResponse.objects.get()
    assert stored.answers == {ids["Email"]: "a@example.com", ids["Rating"]: 5,
                              ids["Topics"]: ["api"]}
    assert stored.completed_date is not None

    with pytest.raises(DomainConflict):
        form_services.submit_form_response(stored, actor=actor)
    with pytest.raises(DomainConflict):
        form_services.update_form_response(stored, {ids["Rating"]: 1}, actor=actor)
    assert FormResponse.objects.get().answers[ids["Rating"]] == 5


def test_bad_answers_name_the_field_and_write_nothing(form, ids, actor):
    with pytest.raises(ValidationError) as error:
        form_services.create_form_response(form, {ids["Email"]: "nope", "zz": 1}, actor=actor)
    assert error.value.message_dict == {
        ids["Email"]: ["Enter a valid email address."], "zz": ["Unknown form field."],
    }
    assert FormResponse.objects.count() == 0
    response = form_services.create_form_response(form, {ids["Rating"]: 3}, actor=actor)
    with pytest.raises(ValidationError) as error:
        form_services.update_form_response(response, {ids["Topics"]: ["api", "db"]}, actor=actor)
    assert list(error.value.message_dict) == [ids["Topics"]]
    assert FormResponse.objects.get().answers == {ids["Rating"]: 3}
