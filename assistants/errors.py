"""The exception tree (see `store.errors` for the drawing): import errors from here."""

from store.errors import (
    APIError,
    AssistantsError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    RequestTooLargeError,
)

__all__ = [
    "APIError",
    "AssistantsError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "RequestTooLargeError",
]
