"""The HTTP layer: one ``httpx.AsyncClient`` (one connection pool) per database instance, JSON in
and out, errors as exceptions, and retries only where repeating a request is safe."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import (
    DocumentServiceError,
    InvalidDocumentError,
    ServiceConnectionError,
    error_from_response,
)

__version__ = "0.1.0"

# Statuses worth retrying for a request that is safe to repeat: the database is unreachable (503),
# or a proxy in front of the service failed (502, 504).
_RETRYABLE_STATUSES = frozenset({502, 503, 504})

# Failures where the request never left this process, so any request may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request that is safe to repeat.

    ``max_retries`` retries follow the first attempt; the n-th waits ``backoff * 2**n`` seconds
    (with jitter), or what the service's ``Retry-After`` asks, never more than ``max_delay``.
    """

    max_retries: int = 3
    backoff: float = 0.25
    max_delay: float = 10.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        base: float = self.backoff * (2**attempt)
        return min(base * (0.5 + random.random() / 2), self.max_delay)


def encode_json(value: Any, *, what: str) -> bytes:
    """UTF-8 JSON, or :class:`InvalidDocumentError` naming what could not be encoded."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise InvalidDocumentError(
            f"The {what} cannot be sent as JSON: {error}.", code="invalid_document"
        ) from None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


class HTTPClient:
    """Requests to one service, with the key on every request."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float,
        retry: RetryPolicy,
        max_connections: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._key = key
        self._timeout = timeout
        self._retry = retry
        self._max_connections = max_connections
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def key(self) -> str:
        return self._key

    @property
    def is_open(self) -> bool:
        return self._client is not None

    def open(self) -> None:
        if self._client is not None:
            return
        self._client = httpx.AsyncClient(
            base_url=self._base_url,
            headers={
                "Authorization": f"Bearer {self._key}",
                "Accept": "application/json",
                "User-Agent": f"parlant-docstore/{__version__}",
            },
            timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=self._max_connections,
                max_keepalive_connections=self._max_connections,
                # Below the service's idle timeout (CONNECTION_TIMEOUT, 30 s by default), so a
                # pooled connection is not closed by the server just as a request goes out on it.
                keepalive_expiry=15.0,
            ),
            transport=self._transport,
            follow_redirects=False,
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool,
        allow_statuses: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Sends the request and returns a 2xx response (or one of ``allow_statuses``).

        ``idempotent`` says whether the request may be sent again after an answer or a broken
        connection left its outcome unknown. Requests that never left this process (the connection
        could not be made) are retried whatever it says.
        """
        if self._client is None:
            self.open()
        client = self._client
        assert client is not None
        content = None if body is None else encode_json(body, what="request body")
        # One id per call, kept across its retries, so the service's log lines for it can be found
        # from the exception.
        request_id = uuid.uuid4().hex
        headers = {"X-Request-Id": request_id}
        if content is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            try:
                response = await client.request(method, path, content=content, params=params, headers=headers)
            except _NOT_SENT as error:
                if attempt < self._retry.max_retries:
                    await asyncio.sleep(self._retry.delay(attempt, None))
                    attempt += 1
                    continue
                raise ServiceConnectionError(
                    f"Could not connect to the document service at {self._base_url} "
                    f"({type(error).__name__}: {error or 'no detail'}); check DOCSTORE_URL and that "
                    "the service is running.",
                    method=method,
                    path=path,
                    maybe_applied=False,
                    request_id=request_id,
                ) from error
            except httpx.TransportError as error:
                if idempotent and attempt < self._retry.max_retries:
                    await asyncio.sleep(self._retry.delay(attempt, None))
                    attempt += 1
                    continue
                outcome = (
                    ""
                    if idempotent
                    else " The request had been sent, so it may or may not have been applied."
                )
                raise ServiceConnectionError(
                    f"The connection to the document service failed ({type(error).__name__}: "
                    f"{error or 'no detail'}).{outcome}",
                    method=method,
                    path=path,
                    maybe_applied=not idempotent,
                    request_id=request_id,
                ) from error

            status = response.status_code
            if 200 <= status < 300 or status in allow_statuses:
                return response
            retry_after = _retry_after(response)
            if idempotent and status in _RETRYABLE_STATUSES and attempt < self._retry.max_retries:
                await asyncio.sleep(self._retry.delay(attempt, retry_after))
                attempt += 1
                continue
            raise self._error(response, method, path, retry_after)

    @staticmethod
    def _error(
        response: httpx.Response, method: str, path: str, retry_after: float | None
    ) -> DocumentServiceError:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        return error_from_response(
            response.status_code,
            body,
            method=method,
            path=path,
            retry_after=retry_after,
            request_id=response.headers.get("x-request-id")
            or response.request.headers.get("x-request-id"),
        )

    @staticmethod
    def json(response: httpx.Response, method: str, path: str) -> Any:
        """The response's JSON body; a clear error if the service sent something else."""
        try:
            return response.json()
        except ValueError:
            raise DocumentServiceError(
                f"The service answered {response.status_code} with a body that is not JSON.",
                code="invalid_response",
                status=response.status_code,
                method=method,
                path=path,
                request_id=response.headers.get("x-request-id"),
            ) from None
