"""Domain errors that services raise and the API turns into 4xx answers.

Bad input raises django.core.exceptions.ValidationError with a dict naming the field at fault
(-> 400); a well-formed request that the current state forbids raises DomainConflict (-> 409).
"""


class DomainConflict(Exception):
    def __init__(self, message: str, *, field: str = "", code: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
