"""Every /api/v1/ route, gathered from the apps' own url modules."""


urlpatterns: list = [
]
