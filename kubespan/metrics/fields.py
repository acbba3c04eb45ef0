"""Where metrics queries meet the search language: spanset pipelines and fields are parsed by
`kubespan.query.traceql`, and a field gets the label name Tempo gives it.
"""

from __future__ import annotations

from kubespan.metrics.ast import ByField
from kubespan.metrics.intrinsics import LABELS
from kubespan.query.ast import Field, Spanset
from kubespan.query.errors import QuerySyntaxError
from kubespan.query.traceql import _Parser, parse_traceql

_INTRINSIC_LABELS = {"name": "name", "status": "status", "kind": "kind", "duration": "duration",
                     "service": "resource.service.name", **LABELS}


def parse_pipeline(text: str, lo: int, hi: int) -> Spanset:
    """The spanset pipeline in text[lo:hi] (columns in errors count from the start of `text`)."""
    part = text[lo:hi]
    if not part.strip():
        raise QuerySyntaxError("expected a spanset such as { } before the metrics function", lo + 1)
    try:
        return parse_traceql(part).root
    except QuerySyntaxError as err:
        raise QuerySyntaxError(err.message, err.column + lo) from None


def parse_field(text: str, lo: int, hi: int) -> ByField:
    """One attribute or intrinsic in text[lo:hi], with its label name."""
    part = text[lo:hi]
    try:
        parser = _Parser(part)
        operand = parser.field_primary()
        if parser.tok.kind != "eof":
            raise QuerySyntaxError("expected one field", parser.tok.column)
    except QuerySyntaxError as err:
        raise QuerySyntaxError(err.message, err.column + lo) from None
    if not isinstance(operand, Field):
        raise QuerySyntaxError(f"expected a field, found {part.strip()!r}", lo + 1)
    return ByField(operand, label_of(operand))


def label_of(field: Field) -> str:
    """The label Tempo gives a field: `resource.service.name`, `span.k`, `.k`, `name`, `status` …"""
    if field.kind == "attr":
        return f".{field.key}" if field.scope == "any" else f"{field.scope}.{field.key}"
    return _INTRINSIC_LABELS.get(field.kind, field.kind)
