"""What an API handler returns: a body with its status and type, or an `ApiError`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
PROTOBUF = "application/protobuf"


class ApiError(Exception):
    """An error answer: HTTP status and a one-line plain-text message (Tempo answers errors as text)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(obj: Any, status: int = 200) -> Reply:
    """Compact JSON, as Go's encoder writes it (no spaces, non-ASCII kept)."""
    return Reply(status, json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode(), JSON)


def text_reply(text: str, status: int = 200) -> Reply:
    return Reply(status, text.encode(), TEXT)


def error_reply(error: ApiError) -> Reply:
    return Reply(error.status, error.message.encode(), TEXT, dict(error.headers))
