"""The one error a query can raise while compiling."""

from __future__ import annotations


class QuerySyntaxError(ValueError):
    """What is wrong with a query, and where (1-based column)."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (column {column})")
        self.message = message
        self.column = column

    def caret(self, text: str) -> str:
        """The query with a caret under the faulty column, for terminals."""
        return f"{text}\n{' ' * (max(self.column, 1) - 1)}^"
