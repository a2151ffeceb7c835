"""Mappings with bounded cost: the JSONPath subset (docs/incoming.md), checked when an incoming
webhook is saved (400 naming the path at fault), its evaluation, its match cap (400 naming the
field), and the worst allowed mapping over a 1 MB body under 100 ms."""

import json

import pytest

from bench.jsonpath_mapping import evaluate_mapping, worst_body, worst_mapping
from incoming.jsonpath_subset import (
    MAX_MATCHES,
    MAX_PATHS,
    MAX_STEPS,
    PathNotAllowed,
    compile_path,
    find,
)
from tests.incoming.conftest import assert_error, post
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENT = {
    "order": {"id": 7, "lines": [{"sku": "a"}, {"sku": "b"}], "ship-to": {"city": "Oslo"}},
    "it's": "quoted",
}


@pytest.mark.parametrize(("path", "expected"), [
    ("$", [DOCUMENT]),
    ("$.order.id", [7]),
    ("$['order']['id']", [7]),
    ('$["order"].lines[1].sku', ["b"]),
    ("$.order.lines[-1].sku", ["b"]),
    ("$.order.lines[*].sku", ["a", "b"]),
    ("$.order.lines.*.sku", ["a", "b"]),
    ("$.order.ship-to.city", ["Oslo"]),
    ("$['it\\'s']", ["quoted"]),
    ("$.order.lines[5]", []),
    ("$.order.id.deeper", []),
    ("$.order[0]", []),
])
def test_the_subset_finds_what_it_names(path, expected):
    assert find(path, DOCUMENT) == expected


@pytest.mark.parametrize(("path", "message"), [
    ("$..name", "Recursive descent"),
    ("$.a..b", "Recursive descent"),
    ("$.items[?(@.price > 1)]", "Filters"),
    ("$.items[0:2]", "Slices"),
    ("$.items[0,1]", "Unions"),
    ("order.id", "starts with $"),
    ("$.a b", "Unsupported syntax at character 4"),
    ("$" + ".a" * (MAX_STEPS + 1), f"at most {MAX_STEPS} steps"),
])
def test_what_is_outside_the_subset_is_refused_with_a_reason(path, message):
    with pytest.raises(PathNotAllowed, match=message.replace("(", r"\(").replace("$", r"\$")):
        compile_path(path)


def test_saving_a_path_outside_the_subset_is_a_400_naming_it(world):
    path = f"/workflows/{world.workflow.pk}/incoming-webhooks"
    response = world.api("post", path, json={
        "name": "deep", "config": {"properties": {"Name": "$..name"}},
    })
    body = assert_error(response, 400, "BadRequest", "config")
    assert "Recursive descent" in str(body["details"]["config"])
    assert "properties.Name" in str(body["details"]["config"])
    column = world.column("Name")
    response = world.api("post", f"/data-sets/{world.data_set.pk}/incoming-webhooks", json={
        "name": "filter", "config": {"columns": {column: "$.rows[?(@.x)]"}},
    })
    body = assert_error(response, 400, "BadRequest", "config")
    assert "Filters" in str(body["details"]["config"])
    assert world.api("get", path).json()["total"] == 0


def test_a_config_with_too_many_paths_is_refused(world):
    columns = {world.column("Name"): "$.a"}
    config = {"columns": {**columns, **{f"extra{i}": "$.b" for i in range(MAX_PATHS)}}}
    response = world.api("post", f"/data-sets/{world.data_set.pk}/incoming-webhooks",
                         json={"name": "many", "config": config})
    body = assert_error(response, 400, "BadRequest", "config")
    assert f"At most {MAX_PATHS} JSONPaths" in str(body["details"]["config"])


def test_a_path_matching_too_many_values_is_a_400_naming_the_field(world):
    hook = world.workflow_hook({"properties": {"Name": "$.title", "Assignees": "$.people[*]"}})
    people = [world.admin_email] * (MAX_MATCHES + 1)
    response = post(hook.public_url, json={"title": "many", "people": people})
    body = assert_error(response, 400, "Validation", "Assignees")
    assert f"more than {MAX_MATCHES} values" in body["details"]["Assignees"]
    assert not WorkflowRun.objects.filter(name="many").exists()
    fine = post(hook.public_url, json={"title": "few", "people": people[:MAX_MATCHES]})
    assert fine.status_code == 202, fine.text


def test_the_worst_allowed_mapping_is_evaluated_in_full_over_a_1_mb_body():
    """What `python -m bench.jsonpath_mapping` times (under 100 ms: docs/incoming.md): every
    allowed path of the worst mapping matches its limit of values, none is cut short."""
    body = worst_body()
    assert len(json.dumps(body).encode()) >= 1024 * 1024
    assert evaluate_mapping(worst_mapping(), body) == MAX_PATHS * MAX_MATCHES
