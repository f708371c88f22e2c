"""Everything about talking to Visma: the client, its errors, the hosts it may reach, Visma's clock."""

from .client import (
    PERMANENT_TOKEN_ERRORS,
    CreatedOrder,
    CustomerPage,
    TokenInfo,
    VismaClient,
    _retry_after,
    encode_json,
    forget_process_state,
    request_id_of,
)
from .errors import (
    Forbidden,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Refused,
    ServerError,
    Throttled,
    TokenRejected,
    Unauthorized,
    ValidationRejected,
    VismaError,
    VismaUnavailable,
)
from .transport import session

__all__ = [
    "PERMANENT_TOKEN_ERRORS",
    "CreatedOrder",
    "CustomerPage",
    "Forbidden",
    "NotFound",
    "OutcomeUnknown",
    "RateLimited",
    "Refused",
    "ServerError",
    "Throttled",
    "TokenInfo",
    "TokenRejected",
    "Unauthorized",
    "ValidationRejected",
    "VismaClient",
    "VismaError",
    "VismaUnavailable",
    "_retry_after",
    "encode_json",
    "forget_process_state",
    "request_id_of",
    "session",
]
