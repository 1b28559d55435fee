"""Object store: recordings, photos and reports by key. See README.md."""

from storage.base import ObjectInfo, ObjectStore
from storage.errors import (
    InvalidKey,
    ObjectNotFound,
    ObjectTooLarge,
    SignatureExpired,
    SignatureInvalid,
    StorageError,
    StoreUnavailable,
)

__all__ = [
    "InvalidKey",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectTooLarge",
    "SignatureExpired",
    "SignatureInvalid",
    "StorageError",
    "StoreUnavailable",
]
