"""Data sets: cell validation per field type, merges, no-op updates, deletes, key lookups."""

import pytest
from django.core.exceptions import ValidationError

from datasets import services
from datasets.models import DataSetField, DataSetRecord
from events.models import Event
from tests.support import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return builders.organization()


@pytest.fixture
def actor(org):
    return builders.user(org)


@pytest.fixture
def data_set(org):
    return services.create_data_set(org, "Customers", [
        {"name": "Name", "fieldType": "Text"},
        {"name": "Seats", "fieldType": "Number"},
        {"name": "Since", "fieldType": "DateTime"},
    ])


@pytest.fixture
def ids(data_set):
    return {x.name: x.id for x in DataSetField.objects.filter(data_set=data_set)}


def test_create_record_normalises_cells(data_set, ids, actor):
    record = services.create_record(data_set, {
        ids["Name"]: "Acme", ids["Seats"]: "12", ids["Since"]: "2024-05-01T12:00:00+02:00",
    }, actor=actor)
    record.refresh_from_db()
    assert record.cells == {
        ids["Name"]: "Acme", ids["Seats"]: 12, ids["Since"]: "2024-05-01T10:00:00.000Z",
    }
    assert (record.created_by, record.updated_by) == (actor, actor)


@pytest.mark.parametrize(
    ("column", "value"),
    [("Name", 5), ("Seats", "many"), ("Seats", True), ("Since", "someday"), ("Since", 3)],
)
def test_bad_cells_name_the_field_and_write_nothing(data_set, ids, actor, column, value):
    with pytest.raises(ValidationError) as error:
        services.create_record(data_set, {ids["Name"]: "Ok", ids[column]: value}, actor=actor)
    assert list(error.value.message_dict) == [ids[column]]
    assert DataSetRecord.objects.count() == 0


def test_unknown_field_is_named(data_set, ids, actor):
    with pytest.raises(ValidationError) as error:
        services.create_record(data_set, {"nope": "x"}, actor=actor)
    assert error.value.message_dict == {"nope": ["Unknown data set field."]}
    assert DataSetRecord.objects.count() == 0


def test_update_merges_and_saves_only_on_change(data_set, ids, actor):
    record = services.create_record(data_set, {ids["Name"]: "Acme", ids["Seats"]: 3}, actor=actor)
    updates = lambda: Event.objects.filter(type="DataSetRecordUpdated").count()  # noqa: E731
    services.update_record(record, {ids["Seats"]: "4"}, actor=actor)
    record.refresh_from_db()
    assert record.cells == {ids["Name"]: "Acme", ids["Seats"]: 4}
    assert updates() == 1
    stamp = record.updated_date
    services.update_record(record, {ids["Seats"]: 4.0}, actor=actor)
    record.refresh_from_db()
    assert record.updated_date == stamp and updates() == 1
    services.update_record(record, {ids["Name"]: None}, actor=actor)
    record.refresh_from_db()
    assert record.cells == {ids["Seats"]: 4}
    with pytest.raises(ValidationError):
        services.update_record(record, {ids["Seats"]: "x", ids["Name"]: "Late"}, actor=actor)
    record.refresh_from_db()
    assert record.cells == {ids["Seats"]: 4}


def test_delete_record(data_set, ids, actor):
    record = services.create_record(data_set, {ids["Name"]: "Acme"}, actor=actor)
    services.delete_record(record, actor=actor)
    assert DataSetRecord.objects.count() == 0
    assert Event.objects.filter(type="DataSetRecordDeleted").count() == 1


def test_find_record_by_key(data_set, ids, actor):
    first = services.create_record(data_set, {ids["Seats"]: 10, ids["Name"]: "A"}, actor=actor)
    services.create_record(data_set, {ids["Seats"]: 11, ids["Name"]: "B"}, actor=actor)
    assert services.find_record_by_key(data_set, ids["Seats"], "10") == first
    assert services.find_record_by_key(data_set, ids["Name"], "B").cells[ids["Seats"]] == 11
    assert services.find_record_by_key(data_set, ids["Name"], "C") is None
    assert services.find_record_by_key(data_set, ids["Seats"], "not a number") is None
    with pytest.raises(ValidationError):
        services.find_record_by_key(data_set, "nope", "x")


def test_create_data_set_validation(org):
    with pytest.raises(ValidationError) as error:
        services.create_data_set(org, "D", [{"name": "A"}, {"name": "a"}])
    assert list(error.value.message_dict) == ["fields[1].name"]
    with pytest.raises(ValidationError) as error:
        services.create_data_set(org, "D", [{"name": "A", "fieldType": "Blob"}])
    assert list(error.value.message_dict) == ["fields[0].fieldType"]
