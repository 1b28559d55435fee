"""Errors raised by the object stores. Each carries the fields a caller needs to report it."""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error an object store raises."""


class ObjectNotFound(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(f"object not found: {key}")
        self.key = key


class InvalidKey(StorageError):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"invalid object key {key!r}: {reason}")
        self.key = key
        self.reason = reason


class StoreUnavailable(StorageError):
    def __init__(self, detail: str) -> None:
        super().__init__(f"object store unavailable: {detail}")
        self.detail = detail


class ObjectTooLarge(StorageError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"object larger than the limit of {limit} bytes")
        self.limit = limit


class SignatureInvalid(StorageError):
    def __init__(self) -> None:
        super().__init__("signed URL invalid")


class SignatureExpired(StorageError):
    def __init__(self) -> None:
        super().__init__("signed URL expired")
