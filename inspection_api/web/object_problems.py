"""The refusals of the signed ``/objects/`` routes (storage/web.py) as problem+json in the
asker's language: storage knows nothing of ours, so the app hands it this to say them."""

from __future__ import annotations

from aiohttp import web

from inspection_api import errors
from inspection_api.web.problems import error_response
from storage import errors as storage_errors

MIB = 1024 * 1024


def object_problem(error: storage_errors.StorageError, status: int) -> errors.InspectionError:
    """The problem a refusal of the object routes is: by its error, else by its status."""
    if isinstance(error, storage_errors.SignatureExpired):
        return errors.ObjectLinkExpired()
    if isinstance(error, storage_errors.SignatureInvalid):
        return errors.ObjectLinkInvalid()
    if isinstance(error, storage_errors.ObjectNotFound):
        return errors.ObjectMissing()
    if isinstance(error, storage_errors.ObjectTooLarge):
        return errors.ObjectTooLarge(limit_mb=f"{error.limit / MIB:.1f}".removesuffix(".0"))
    if isinstance(error, storage_errors.InvalidKey) and status == 409:
        return errors.ObjectKeyConflict()
    if isinstance(error, storage_errors.InvalidKey):
        return errors.ObjectKeyInvalid(reason=error.reason)
    raise ValueError(f"no problem type for {type(error).__name__} ({status})")


def object_refusal(
    request: web.Request, status: int, error: storage_errors.StorageError
) -> web.StreamResponse:
    # The instance without the key: a crafted link must not make the platform's own origin
    # echo text the link's author wrote.
    return error_response(request, object_problem(error, status), instance="/objects/")
