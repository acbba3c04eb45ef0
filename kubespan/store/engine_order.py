"""The order in which the indexed evaluator runs the conditions of a conjunction (`a && b && c`).

A conjunction's mask is the same in any order, but not its cost: an attribute equality answered by a
chunk's sorted index touches only the matching spans, while a name or service condition gathers a
lookup table over every span of the chunk. Running the cheapest, most selective condition first lets
the rest be skipped in every chunk where it matched nothing (the walkthrough's
`resource.service.name = "kubelet" && name = "syncPod" && span.k8s.pod = "…"` reads the index of
`k8s.pod` and then only the one chunk that holds the pod).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from kubespan.query.ast import And, BareWord, Cond, Expr
from kubespan.store.engine_traces import TRACE_KINDS

if TYPE_CHECKING:
    from kubespan.store.chunk import Chunk
    from kubespan.store.engine import Evaluator

INDEXED_IDS = 16
"""An attribute condition matching at most this many attribute ids counts as an index lookup."""
_GATHERED = {"name", "service", "kind", "status", "duration", "trace", "span", "parent", *TRACE_KINDS}


def conjunction(evaluator: Evaluator, expr: And, chunk: Chunk) -> npt.NDArray[np.bool_]:
    """The mask of `expr` over `chunk`: its cheapest term first, each next one only while spans are left."""
    terms = evaluator.plan(expr, lambda: cheapest_first(evaluator, expr))
    mask = evaluator.expr(terms[0], chunk)
    for term in terms[1:]:
        if not mask.any():
            break
        mask = mask & evaluator.expr(term, chunk)
    return mask


def conjuncts(expr: And) -> list[Expr]:
    """The terms of a chain of `&&` (nested on either side), left to right."""
    out: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, And):
            stack += [node.right, node.left]
        else:
            out.append(node)
    return out


def cheapest_first(evaluator: Evaluator, expr: And) -> list[Expr]:
    """The conjunction's terms, index lookups first, then gathers, then scans, then the rest (stable)."""
    return sorted(conjuncts(expr), key=lambda term: _cost(evaluator, term))


def _cost(evaluator: Evaluator, term: Expr) -> int:
    if isinstance(term, BareWord):
        return 2
    if not isinstance(term, Cond):
        return 3
    kind = term.field.kind
    if kind in _GATHERED:
        return 1
    if kind != "attr":
        return 2
    if term.field.scope == "resource":
        return 1
    if term.literal.type == "nil":
        return 2
    match_ids, key_ids, _, _ = evaluator.plan(term, lambda: evaluator.attr_plan(term))
    return 0 if key_ids is None and len(match_ids.ids) <= INDEXED_IDS else 2
