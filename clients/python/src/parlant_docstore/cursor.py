"""Parlant's ``Cursor(creation_utc, id)`` <-> the service's ``next_cursor`` token.

The token is the base64url encoding, without padding, of the JSON array ``[creation_utc, id]``
(SPEC section 6). The conversion is pure: nothing is remembered between calls, so a cursor handed
out by one process can be used by another, or after a restart.
"""

from __future__ import annotations

import base64
import binascii
import json

from parlant.core.persistence.common import Cursor, ObjectId

from .errors import InvalidCursorError


def cursor_to_token(cursor: Cursor) -> str:
    """The service token naming ``cursor``."""
    text = json.dumps([str(cursor.creation_utc), str(cursor.id)], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")


def token_to_cursor(token: str) -> Cursor:
    """Parlant's cursor for a service token; :class:`InvalidCursorError` if it is not one."""
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error) as error:
        raise InvalidCursorError(
            f"The service returned a cursor that is not base64url JSON: {error}.", code="invalid_cursor"
        ) from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], str)
        or not isinstance(value[1], str)
    ):
        raise InvalidCursorError(
            "The service returned a cursor that is not [creation_utc, id].", code="invalid_cursor"
        )
    return Cursor(creation_utc=value[0], id=ObjectId(value[1]))
