"""Who may see this: every model states its path to the organization once, here is everything
that reads it.

A model owned by one organization declares `organization_path`, the lookup from it to its
Organization: "organization", "run__organization", "pk" for Organization itself. A model that
belongs to no organization (say, a worker's heartbeat) declares `organization_path = None`,
which makes "shared by every organization" a stated choice rather than a forgotten line.
`organization_path_problems` (a system check, and tests/security/test_tenancy.py) fails for a
model of the project that declares neither, or whose path does not end at Organization.

What derives from that one declaration:
- the API: every view that lists or fetches an organization's objects uses `OrganizationScoped`
  and builds its querysets with `scope()` (a child under a parent, such as a run's tasks,
  through its scoped parent), so another organization's id answers 404, like an unknown one;
- the Django admin (`accounts/admin_scoping.py`): change lists, change pages, and foreign
  key and many-to-many choices through `visible_in_admin`;
- the tenancy tests, which snapshot another organization's rows through `scoped`.

What each role may do inside its organization is `accounts/permissions.py`.
"""

from collections.abc import Iterable
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.checks import CheckMessage, Error
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import Model, QuerySet

from accounts.models import Membership, Organization, Role
from accounts.permissions import current_membership, current_organization

# The user model is Django's, so its path is stated here: a user belongs to the organizations
# it is a member of.
USER_PATH = "memberships__organization"


def organization_path(model: type[Model]) -> str | None:
    """The lookup from `model` to its Organization; None for a model no organization owns."""
    if model is get_user_model():
        return USER_PATH
    try:
        return model.organization_path
    except AttributeError:
        raise ImproperlyConfigured(
            f"{model._meta.label} states no organization_path (accounts/tenancy.py)."
        ) from None


def _owned_path(model: type[Model]) -> str:
    path = organization_path(model)
    if path is None:
        raise ImproperlyConfigured(
            f"{model._meta.label} belongs to no organization; it cannot be scoped to one."
        )
    return path


def scoped(queryset: QuerySet, organization: Organization) -> QuerySet:
    """The rows of `queryset` that belong to `organization`."""
    return queryset.filter(**{_owned_path(queryset.model): organization.pk})


def scoped_to_any(queryset: QuerySet, organization_ids: Iterable[str]) -> QuerySet:
    """The rows of `queryset` that belong to any of `organization_ids`. Distinct, because a path
    through a to-many relation (a user's memberships) would repeat a row per match."""
    path = _owned_path(queryset.model)
    return queryset.filter(**{f"{path}__in": list(organization_ids)}).distinct()


# --- The Django admin -----------------------------------------------------------------------


def administered_organization_ids(request) -> list[str]:
    """Ids of the organizations the request's staff user is an Admin of (cached per request)."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return []
    cached = getattr(request, "_administered_organization_ids", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user=user, role=Role.ADMIN).values_list(
                "organization_id", flat=True
            )
        )
        request._administered_organization_ids = cached
    return cached


def is_organization_admin(request) -> bool:
    return bool(administered_organization_ids(request))


def visible_in_admin(queryset: QuerySet, request) -> QuerySet:
    """The rows of `queryset` the request's user may see in the admin: every row for a superuser
    or for a model no organization owns, else those of the organizations they are an Admin of
    (none for anyone else)."""
    if request.user.is_superuser or organization_path(queryset.model) is None:
        return queryset
    return scoped_to_any(queryset, administered_organization_ids(request))


# --- The API ----------------------------------------------------------------------------------


class OrganizationScoped:
    """For a view that lists or fetches objects of the caller's organization: `scope()` keeps
    that organization's rows, so another organization's id is 404."""

    @property
    def organization(self) -> Organization:
        return current_organization(self.request)

    @property
    def membership(self) -> Membership | None:
        return current_membership(self.request)

    def scope(self, queryset: QuerySet) -> QuerySet:
        return scoped(queryset, self.organization)


# --- The declarations, checked ----------------------------------------------------------------


def project_models() -> list[type[Model]]:
    """The models of the project's own apps (the packages at the top of the repository), so a
    new model is checked without being listed anywhere."""
    return [
        model for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == settings.BASE_DIR
        for model in config.get_models()
    ]


def _reached_by(model: type[Model], path: str) -> type[Model] | None:
    """The model at the end of `path` from `model`; None if a step is not a relation."""
    if path == "pk":
        return model
    for name in path.split("__"):
        try:
            model = model._meta.get_field(name).related_model
        except FieldDoesNotExist:
            return None
        if model is None:
            return None
    return model


def organization_path_problems(models: Iterable[type[Model]]) -> list[str]:
    """What is wrong with the models' declarations: no declaration, or a path that does not
    lead to Organization."""
    problems = []
    for model in models:
        label = model._meta.label
        if not hasattr(model, "organization_path"):
            problems.append(
                f"{label} states no organization_path: the lookup to its Organization, or None "
                "if no organization owns it."
            )
        elif model.organization_path is not None and (
            _reached_by(model, model.organization_path) is not Organization
        ):
            problems.append(
                f"{label}.organization_path {model.organization_path!r} does not lead to "
                "Organization."
            )
    return problems


def check_organization_paths(app_configs=None, **kwargs) -> list[CheckMessage]:
    """System check: every model of the project states which organization owns its rows."""
    return [
        Error(problem, id="accounts.E001")
        for problem in organization_path_problems(project_models())
    ]
