"""Exceptions raised by the client.

Every failure is a :class:`DocumentServiceError` (itself a :class:`SupabaseAdapterError`, the name
Parlant's own Supabase adapter uses), carrying the service's stable error ``code`` and the HTTP
``status`` (``None`` when no response was received). Subclasses name the cases a caller may want
to handle on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SupabaseAdapterError(Exception):
    """Base class kept for compatibility with ``parlant.adapters.db.supabase_db``."""


class DocumentServiceError(SupabaseAdapterError):
    """A request to the document service failed.

    Attributes:
        code: the service's snake_case error code (``duplicate_id``, ``invalid_filter``, ...), or a
            client-side code (``connection_failed``, ``configuration``, ...) when the service did not
            answer.
        status: the HTTP status, or ``None`` when there was no response.
        message: one sentence saying what went wrong (the service's own when it answered).
        method, path: the request that failed (never the key).
        request_id: the ``X-Request-Id`` the call was sent with (the service's own when it replaced
            it), also in the service's log line for the request; ``None`` when nothing was sent.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.code = code
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self.request_id = request_id
        where = f"{method} {path}: " if method and path else ""
        status_text = f"{status} " if status is not None else ""
        request = f" (request {request_id})" if request_id else ""
        super().__init__(f"{where}{status_text}{code}: {message}{request}")


class ConfigurationError(DocumentServiceError, ValueError):
    """The client is missing its URL or key, or the store cannot be told from the table prefix."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="configuration")


class ServiceConnectionError(DocumentServiceError):
    """No answer from the service: it is unreachable, the connection broke, or it timed out.

    ``maybe_applied`` is true when the request had been sent and was not safe to repeat, so it may
    or may not have taken effect.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        maybe_applied: bool,
        request_id: str | None = None,
    ) -> None:
        self.maybe_applied = maybe_applied
        super().__init__(
            message, code="connection_failed", method=method, path=path, request_id=request_id
        )


class InvalidRequestError(DocumentServiceError):
    """400: the service rejected the request (bad JSON, filter, cursor, document or collection)."""


class InvalidFilterError(InvalidRequestError):
    """400 ``invalid_filter``: the ``Where`` filter is not in Parlant's grammar."""


class InvalidCursorError(InvalidRequestError):
    """400 ``invalid_cursor``: the cursor does not decode to ``[creation_utc, id]``."""


class InvalidDocumentError(InvalidRequestError):
    """400 ``invalid_document``, or a document that cannot be sent as JSON."""


class InvalidCollectionError(InvalidRequestError):
    """400 ``invalid_collection``: the collection name is not ``^[a-z][a-z0-9_]{0,62}$``."""


class AuthenticationError(DocumentServiceError):
    """401: the service key is missing or wrong (check ``DOCSTORE_KEY``)."""


class PermissionDeniedError(DocumentServiceError):
    """403 ``forbidden``: the key is valid but its scope does not cover the call (a read-only key on a
    write, a key limited to other stores, or a scoped key on ``/verify``)."""


class NotFoundError(DocumentServiceError):
    """404: no such document (``document_not_found``) or no such route (``not_found``)."""


class ConflictError(DocumentServiceError):
    """409: the write conflicts with a stored document."""


class DuplicateIdError(ConflictError):
    """409 ``duplicate_id``: a document with this id already exists."""


class UniqueViolationError(ConflictError):
    """409 ``unique_violation``: the write breaks a unique index made by ``ensure_indexes``."""


class PayloadTooLargeError(DocumentServiceError):
    """413: the body exceeds the service's ``MAX_BODY_BYTES``."""


class ServiceUnavailableError(DocumentServiceError):
    """503: the service cannot reach its database. ``retry_after`` is the server's hint, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            message, code=code, status=status, method=method, path=path, request_id=request_id
        )


class ServerError(DocumentServiceError):
    """5xx other than 503: a fault in the service or its database (e.g. a missing privilege)."""


_BY_CODE: Mapping[str, type[DocumentServiceError]] = {
    "invalid_filter": InvalidFilterError,
    "invalid_cursor": InvalidCursorError,
    "invalid_document": InvalidDocumentError,
    "invalid_collection": InvalidCollectionError,
    "duplicate_id": DuplicateIdError,
    "unique_violation": UniqueViolationError,
}

_BY_STATUS: Mapping[int, type[DocumentServiceError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: InvalidRequestError,
}


def error_from_response(
    status: int,
    body: Any,
    *,
    method: str,
    path: str,
    retry_after: float | None = None,
    request_id: str | None = None,
) -> DocumentServiceError:
    """The exception for an error answer ``{"error": {"code", "message", "request_id"}}`` (or
    anything else); ``request_id`` is the one the request carried, used when the body has none."""
    code = f"http_{status}"
    message = "The service answered with an error status and no error description."
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            if isinstance(error.get("code"), str):
                code = error["code"]
            if isinstance(error.get("message"), str):
                message = error["message"]
            if isinstance(error.get("request_id"), str):
                request_id = error["request_id"]
    if status == 503:
        return ServiceUnavailableError(
            message,
            code=code,
            status=status,
            method=method,
            path=path,
            retry_after=retry_after,
            request_id=request_id,
        )
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else DocumentServiceError
    return cls(message, code=code, status=status, method=method, path=path, request_id=request_id)
