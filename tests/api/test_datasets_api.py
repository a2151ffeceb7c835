"""/data-sets and /data-sets/{id}/records."""

from datasets.models import DataSetRecord
from tests.api.conftest import assert_error


def test_list_and_get_data_sets(api, world):
    body = api.get("/data-sets", as_="member").json()
    assert body["total"] == 1 and body["data"][0]["id"] == world.data_set.id
    data_set = api.get(f"/data-sets/{world.data_set.id}").json()
    assert [(f["name"], f["fieldType"]) for f in data_set["fields"]] == [
        ("Name", "Text"), ("Revenue", "Number"), ("Since", "DateTime"),
    ]
    assert_error(api.get(f"/data-sets/{world.other_data_set.id}"), 404)
    assert_error(api.get("/data-sets", as_="guest"), 403)


def test_record_lifecycle(api, world, orgs):
    name, revenue, since = world.column("Name"), world.column("Revenue"), world.column("Since")
    base = f"/data-sets/{world.data_set.id}/records"
    response = api.post(base, {"cells": [
        {"fieldId": name, "value": "Acme"}, {"fieldId": revenue, "value": 10},
    ]}, as_="member")
    record = response.json()
    assert response.status_code == 201, record
    assert record["dataSetId"] == world.data_set.id
    assert record["cells"] == [
        {"fieldId": name, "value": "Acme"}, {"fieldId": revenue, "value": 10},
        {"fieldId": since, "value": None},
    ]
    assert record["createdBy"]["email"] == orgs["a"].member.user.email
    url = f"{base}/{record['id']}"
    assert api.get(url).json()["id"] == record["id"]
    assert api.get(base).json()["total"] == 1

    response = api.patch(url, {since: "2024-05-01T10:00:00Z"})
    cells = {c["fieldId"]: c["value"] for c in response.json()["cells"]}
    assert response.status_code == 200, response.json()
    assert cells == {name: "Acme", revenue: 10, since: "2024-05-01T10:00:00.000Z"}

    response = api.put(url, {"cells": [{"fieldId": name, "value": "Acme Ltd"}]})
    cells = {c["fieldId"]: c["value"] for c in response.json()["cells"]}
    assert response.status_code == 200, response.json()
    assert cells == {name: "Acme Ltd", revenue: None, since: None}

    response = api.delete(url)
    assert response.status_code == 204
    assert not DataSetRecord.objects.exists()
    assert_error(api.get(url), 404)


def test_record_bad_input_writes_nothing(api, world):
    name, revenue = world.column("Name"), world.column("Revenue")
    base = f"/data-sets/{world.data_set.id}/records"
    body = assert_error(api.post(base, {"cells": {"nope": "x"}}), 400, "cells")
    assert "nope" in body["details"]["cells"]
    body = assert_error(api.post(base, {"cells": {name: "Ok", revenue: "lots"}}), 400, "cells")
    assert revenue in body["details"]["cells"]
    assert_error(api.post(base, {}), 400, "cells")
    assert_error(api.post(base, {"cells": 5}), 400, "cells")
    assert_error(api.post(base, {"cells": [{"value": 1}]}), 400, "cells")
    assert not DataSetRecord.objects.exists()

    record = api.post(base, {"cells": {name: "Keep"}}).json()
    assert_error(api.patch(f"{base}/{record['id']}", {"cells": {revenue: "x"}}), 400, "cells")
    stored = DataSetRecord.objects.get(pk=record["id"])
    assert stored.cells == {name: "Keep"}


def test_record_permissions_and_scoping(api, world):
    base = f"/data-sets/{world.data_set.id}/records"
    record = api.post(base, {"cells": {}}).json()
    assert_error(api.post(base, {"cells": {}}, as_="guest"), 403)
    assert_error(api.get(base, as_="guest"), 403)
    assert_error(api.delete(f"{base}/{record['id']}", as_="guest"), 403)
    assert_error(api.get(f"{base}/{record['id']}", org="b"), 404)
    assert_error(api.get(f"/data-sets/{world.data_set.id}/records", org="b"), 404)
    other = f"/data-sets/{world.other_data_set.id}/records/{record['id']}"
    assert_error(api.get(other, org="b"), 404)
    assert DataSetRecord.objects.count() == 1
