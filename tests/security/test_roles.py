"""The role matrix of docs/security.md, enforced: one parametrised test over (route, role).

The table is read from the doc (between the role-matrix markers), so the doc and the test cannot
drift: a route missing from the table, or a table row for a route that does not exist, fails
`test_the_matrix_lists_every_route`.
"""

import re
from pathlib import Path

import pytest

from tests.security.conftest import api_routes, body_for, build_universe, call

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROLES = ("admin", "member", "guest")
ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`\s*\|(.*)\|\s*$")


def read_matrix() -> dict[str, dict[str, str]]:
    text = DOC.read_text()
    table = text.split("<!-- role-matrix:start -->", 1)[1].split("<!-- role-matrix:end -->")[0]
    matrix = {}
    for line in table.splitlines():
        match = ROW.match(line.strip())
        if not match:
            continue
        cells = [cell.strip() for cell in match.group(3).split("|")]
        assert len(cells) == len(ROLES) and set(cells) <= {"yes", "no", "assigned"}, line
        matrix[f"{match.group(1)} {match.group(2)}"] = dict(zip(ROLES, cells, strict=True))
    return matrix


MATRIX = read_matrix()
ROUTES = {route.label: route for route in api_routes()}
CASES = [(label, role) for label in MATRIX for role in ROLES]


def test_the_matrix_lists_every_route():
    assert set(MATRIX) == set(ROUTES), (
        f"missing from docs/security.md: {sorted(set(ROUTES) - set(MATRIX))}; "
        f"not routes: {sorted(set(MATRIX) - set(ROUTES))}"
    )


def test_only_admins_manage_webhooks_keys_and_deliveries():
    """The rules the issue states, checked on the table itself."""
    for label, cells in MATRIX.items():
        if re.search(r"/(webhooks|incoming-webhooks|api-keys|events|deliveries)\b", label):
            assert cells == {"admin": "yes", "member": "no", "guest": "no"}, label
        if label.split()[0] != "GET":
            assert cells["guest"] == "no", label


@pytest.fixture
def universe(orgs):
    from workflows import services

    universe = build_universe(orgs["a"], assign_guest=True)
    # A second run the Guest is not assigned to.
    run = services.start_run(universe.objects["Workflow"], actor=orgs["a"].admin.user)
    universe.objects["UnassignedRun"] = run
    universe.objects["UnassignedTask"] = run.tasks.order_by("order").last()
    return universe


def _unassigned_ids(universe, route) -> dict[str, str]:
    ids = universe.ids_for(route)
    if "run_id" in ids:
        ids["run_id"] = universe.objects["UnassignedRun"].pk
        if route.model == "Task":
            ids["pk"] = universe.objects["UnassignedTask"].pk
    elif route.model == "WorkflowRun" and "pk" in ids:
        ids["pk"] = universe.objects["UnassignedRun"].pk
    return ids


@pytest.mark.parametrize(("label", "role"), CASES, ids=[f"{role}:{lbl}" for lbl, role in CASES])
def test_role_matrix(client, universe, label, role):
    route = ROUTES[label]
    expected = MATRIX[label][role]
    key = universe.org.keys[role]
    response = call(client, route.method, route.path(universe.ids_for(route)), key,
                    body_for(route, universe))
    answer = f"{role} {label}: {response.status_code} {response.content[:300]!r}"
    assert response.status_code < 500, answer
    if expected == "no":
        assert response.status_code == 403, answer
        return
    # Allowed: the role passes the permission and scoping checks; the answer may still be a
    # domain refusal (409, 400) for this particular state, never 401/403/404/405.
    assert response.status_code not in (401, 403, 404, 405), answer
    if expected == "assigned":
        unassigned = universe.objects["UnassignedRun"].pk
        if route.params:
            other = call(client, route.method, route.path(_unassigned_ids(universe, route)), key)
            assert other.status_code == 404, f"{role} {label} (unassigned run): {other.status_code}"
        else:
            assert unassigned not in response.content.decode(), f"{label} lists unassigned runs"
