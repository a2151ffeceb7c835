"""/api-keys (Admin only), authentication and the error body."""

from accounts.models import ApiKey
from tests.api.conftest import assert_error


def test_create_key_shows_it_once(api, orgs):
    response = api.post("/api-keys", {"name": "ci"})
    created = response.json()
    assert response.status_code == 201, created
    assert created["key"].startswith("psk_") and created["name"] == "ci"
    assert created["prefix"] == created["key"][:12]
    assert created["email"] == "admin-a@example.com"

    listed = api.get("/api-keys").json()
    assert created["id"] in {k["id"] for k in listed["data"]}
    assert all("key" not in k and "keyHash" not in k for k in listed["data"])
    assert created["key"] not in str(listed)
    one = api.get(f"/api-keys/{created['id']}").json()
    assert "key" not in one and created["key"] not in str(one)

    # the new key works
    assert api.get("/workflows", key=created["key"]).status_code == 200


def test_revoked_key_is_401(api, orgs):
    created = api.post("/api-keys", {"name": "temp"}).json()
    assert api.delete(f"/api-keys/{created['id']}").status_code == 204
    assert ApiKey.objects.get(pk=created["id"]).revoked_date is not None
    body = assert_error(api.get("/workflows", key=created["key"]), 401)
    assert body["errorCode"] == "Unauthorized"
    listed = {k["id"]: k for k in api.get("/api-keys").json()["data"]}
    assert listed[created["id"]]["revokedDate"]


def test_only_admins_manage_keys(api, orgs):
    for role in ("member", "guest"):
        assert_error(api.get("/api-keys", as_=role), 403)
        assert_error(api.post("/api-keys", {"name": "x"}, as_=role), 403)
    admin_key = ApiKey.objects.get(membership=orgs["a"].admin)
    assert_error(api.delete(f"/api-keys/{admin_key.id}", as_="member"), 403)
    assert ApiKey.objects.get(pk=admin_key.pk).revoked_date is None


def test_keys_are_scoped_to_the_organization(api, orgs):
    other = ApiKey.objects.get(membership=orgs["b"].admin)
    assert other.id not in {k["id"] for k in api.get("/api-keys").json()["data"]}
    assert_error(api.get(f"/api-keys/{other.id}"), 404)
    assert_error(api.delete(f"/api-keys/{other.id}"), 404)
    assert ApiKey.objects.get(pk=other.pk).revoked_date is None


def test_key_name_is_required(api):
    assert_error(api.post("/api-keys", {}), 400, "name")
    assert_error(api.post("/api-keys", {"name": ""}), 400, "name")


def test_missing_or_bad_key_is_401_with_the_error_shape(api):
    body = assert_error(api.get("/workflows", key=""), 401)
    assert body["errorCode"] == "Unauthorized" and body["details"] == {}
    assert_error(api.get("/workflow-runs", key="psk_not-a-real-key"), 401)


def test_validation_error_shape(api, world):
    body = assert_error(api.post("/workflow-runs", {"workflowId": "x"}), 400, "workflowId")
    assert body["errorCode"] == "BadRequest"
    assert body["error"].startswith("workflowId")
    assert isinstance(body["details"]["workflowId"], list)
