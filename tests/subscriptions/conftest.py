import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from tests.support import builders


class Caller:
    def __init__(self, membership):
        self.membership = membership
        self.organization = membership.organization
        self.client = APIClient()
        self.client.credentials(HTTP_X_API_KEY=builders.api_key(membership))

    def __getattr__(self, method):
        call = getattr(self.client, method)
        return lambda path, data=None, **kw: call(path, data, format="json", **kw)


@pytest.fixture
def org():
    return builders.organization("Acme")


@pytest.fixture
def other_org():
    return builders.organization("Globex")


@pytest.fixture
def admin(org):
    return Caller(builders.member(org, "admin@acme.test", Role.ADMIN))


@pytest.fixture
def member(org):
    return Caller(builders.member(org, "member@acme.test", Role.MEMBER))


@pytest.fixture
def guest(org):
    return Caller(builders.member(org, "guest@acme.test", Role.GUEST))


@pytest.fixture
def other_admin(other_org):
    return Caller(builders.member(other_org, "admin@globex.test", Role.ADMIN))
