"""The one exception tree of the product.

    AssistantsError                      any error raised on purpose by this package
    ├── ConfigurationError               bad settings or arguments at start-up (no HTTP status)
    ├── DatabaseUnavailableError         the database did not answer; nothing was written
    ├── LostClaim                        a worker wrote for a run it no longer holds; discarded
    └── APIError                         an error in OpenAI's wire shape: status, type, param, code
        ├── BadRequestError        400   invalid_request_error: validation and state conflicts
        ├── AuthenticationError    401   missing or unknown API key
        ├── PermissionDeniedError  403   the key may not do this
        ├── NotFoundError          404   unknown object id (also: another key's object)
        ├── RequestTooLargeError   413   a request body over the server's limit
        ├── UnsupportedMediaTypeError 415 a request body that is not JSON
        ├── RateLimitError         429   a provider's rate limit, surfaced to the caller
        ├── InternalServerError    500   a bug or a broken store; never a business rule
        ├── ProviderError          502   a model provider failed for good
        └── DatabaseUnavailableError 503 the database is away, locked, full, read-only or failing

State conflicts ("Thread thread_X already has an active run run_Y.") are 400s, never 409s:
the openai SDKs retry 409 twice before raising, which would only delay the same answer.
The server maps an `APIError` to HTTP in one place, using `status_code`, `to_body()`,
`retry_after` (a `Retry-After` header where retrying helps) and `retryable` (`x-should-retry:
false` where it cannot: a provider failure after the server's own retries, say).
"""

from __future__ import annotations

from typing import Any, ClassVar


class AssistantsError(Exception):
    """An error raised on purpose by the assistants runtime."""


class ConfigurationError(AssistantsError):
    """The settings or arguments given at start-up are not valid."""


class LostClaim(AssistantsError):
    """The worker no longer holds this run; whatever it was about to write is discarded."""


class APIError(AssistantsError):
    """An error with OpenAI's wire shape: `{"error": {message, type, param, code}}`."""

    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"

    retry_after: float | None = None
    """Seconds after which the same request may succeed (`Retry-After`), when retrying helps."""

    retryable: bool | None = None
    """False when sending the same request again cannot help (the server already retried, or
    the cause lasts): the server says so (`x-should-retry: false`, which the openai SDKs obey
    instead of retrying on top). None leaves the client to its own policy."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    @property
    def type(self) -> str:
        return self.error_type

    def to_body(self) -> dict[str, Any]:
        """The JSON body the HTTP server sends for this error."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, param={self.param!r}, code={self.code!r})"


class BadRequestError(APIError):
    """The request is malformed or not allowed in the object's current state."""

    status_code = 400
    error_type = "invalid_request_error"


class AuthenticationError(APIError):
    """No API key, or an unknown one, was given."""

    status_code = 401
    error_type = "invalid_request_error"


class PermissionDeniedError(APIError):
    """The API key is known but may not do this."""

    status_code = 403
    error_type = "invalid_request_error"


class NotFoundError(APIError):
    """No object with this id exists (for this API key)."""

    status_code = 404
    error_type = "invalid_request_error"


class RequestTooLargeError(APIError):
    """The request body is larger than the server accepts."""

    status_code = 413
    error_type = "invalid_request_error"


class UnsupportedMediaTypeError(APIError):
    """The request body is not of a media type the route takes (JSON)."""

    status_code = 415
    error_type = "invalid_request_error"


class RateLimitError(APIError):
    """A rate limit was hit."""

    status_code = 429
    error_type = "rate_limit_error"


class InternalServerError(APIError):
    """Something failed inside the runtime; the request may be retried."""

    status_code = 500
    error_type = "server_error"


class ProviderError(APIError):
    """A model provider failed and retries and fallbacks are exhausted."""

    status_code = 502
    error_type = "server_error"
    retryable = False  # the request's retry policy (`num_retries`, fallbacks) was spent already


class DatabaseUnavailableError(APIError):
    """The database could not take the statement: unreachable, restarting or failing over, a
    cancelled statement (Postgres); locked by another process past the wait, full, read-only or
    failing with an I/O error (SQLite). Nothing was written by the statement that raised it; the
    same work can be tried again once the cause is gone (after `retry_after` seconds when that
    is likely to be soon). `code` names the cause."""

    status_code = 503
    error_type = "server_error"

    def __init__(
        self,
        message: str,
        *,
        code: str = "database_unavailable",
        retry_after: float | None = 1.0,
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        if retry_after is None:  # a full or read-only database stays so: no retry helps
            self.retryable = False


def not_found(kind: str, object_id: str) -> NotFoundError:
    """OpenAI's 404: "No thread found with id 'thread_abc'."."""
    return NotFoundError(f"No {kind} found with id '{object_id}'.")
