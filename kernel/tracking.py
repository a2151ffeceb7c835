"""Remember the values a model instance was loaded with, so signal receivers can see changes.

post_save only tells that a row was saved; events fire on transitions (a task becoming ready, a
status flipping), so receivers compare `instance.loaded_value(field)` with the new value.
"""

from typing import Any

from django.db import models

_UNSET = object()


class TracksLoadedValues(models.Model):
    tracked_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded = {
            name: getattr(instance, name)
            for name in cls.tracked_fields
            if name in field_names or f"{name}_id" in field_names
        }
        return instance

    def loaded_value(self, name: str, default: Any = None) -> Any:
        return getattr(self, "_loaded", {}).get(name, default)

    def was_loaded(self) -> bool:
        return hasattr(self, "_loaded")

    def remember_loaded_values(self) -> None:
        """After a save, the saved values are the new baseline for the next comparison."""
        self._loaded = {name: getattr(self, name) for name in self.tracked_fields}
