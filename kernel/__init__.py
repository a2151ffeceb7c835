"""Shared building blocks with no models and no app imports: every app may import them."""
