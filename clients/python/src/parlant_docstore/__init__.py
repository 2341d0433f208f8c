"""Parlant's document stores in the document service (a Supabase / PostgreSQL HTTP service).

Swap the import of Parlant's Supabase adapter for this one and give the service's URL and key
(``DOCSTORE_URL`` / ``DOCSTORE_KEY``)::

    from parlant_docstore import SupabaseDocumentDatabase
"""

from ._http import RetryPolicy, __version__
from .cursor import cursor_to_token, token_to_cursor
from .database import (
    KEY_VARIABLE,
    MAX_PAGE,
    STORES,
    URL_VARIABLE,
    SupabaseDocumentCollection,
    SupabaseDocumentDatabase,
    store_for_prefix,
)
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    DocumentServiceError,
    DuplicateIdError,
    InvalidCollectionError,
    InvalidCursorError,
    InvalidDocumentError,
    InvalidFilterError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PayloadTooLargeError,
    ServerError,
    ServiceConnectionError,
    ServiceUnavailableError,
    SupabaseAdapterError,
    UniqueViolationError,
)
from .listener import DocstoreSessionListener

__all__ = [
    "KEY_VARIABLE",
    "MAX_PAGE",
    "STORES",
    "URL_VARIABLE",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "DocstoreSessionListener",
    "DocumentServiceError",
    "DuplicateIdError",
    "InvalidCollectionError",
    "InvalidCursorError",
    "InvalidDocumentError",
    "InvalidFilterError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "PayloadTooLargeError",
    "RetryPolicy",
    "ServerError",
    "ServiceConnectionError",
    "ServiceUnavailableError",
    "SupabaseAdapterError",
    "SupabaseDocumentCollection",
    "SupabaseDocumentDatabase",
    "UniqueViolationError",
    "__version__",
    "cursor_to_token",
    "store_for_prefix",
    "token_to_cursor",
]
