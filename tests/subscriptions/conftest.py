import pytest
from rest_framework.test import APIClient

from accounts.keys import create_api_key
from accounts.models import Role
from accounts.services import add_member, create_organization


class Caller:
    def __init__(self, membership):
        self.membership = membership
        self.organization = membership.organization
        _, raw = create_api_key(membership, name="test")
        self.client = APIClient()
        self.client.credentials(HTTP_X_API_KEY=raw)

    def __getattr__(self, method):
        call = getattr(self.client, method)
        return lambda path, data=None, **kw: call(path, data, format="json", **kw)


@pytest.fixture
def org():
    return create_organization("Acme")


@pytest.fixture
def other_org():
    return create_organization("Globex")


@pytest.fixture
def admin(org):
    return Caller(add_member(org, "admin@acme.test", Role.ADMIN))


@pytest.fixture
def member(org):
    return Caller(add_member(org, "member@acme.test", Role.MEMBER))


@pytest.fixture
def guest(org):
    return Caller(add_member(org, "guest@acme.test", Role.GUEST))


@pytest.fixture
def other_admin(other_org):
    return Caller(add_member(other_org, "admin@globex.test", Role.ADMIN))
