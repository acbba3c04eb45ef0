"""Text of nested attribute values with an explicit stack, so nesting depth is unbounded.

Both Go-JSON (`go_json`) and the legacy format's slices (`values`) write a value as the
text of its own plus that of its children; `write_nested` walks the children without
recursion, and each format says only how one value reads.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

Item = Union[str, AnyValue]
"""What the stack holds: text to write as it is, or a value still to render."""
Push = Callable[[Item], None]
Render = Callable[[AnyValue, Push], "str | None"]
"""The text that opens a value (its whole text for a scalar), pushing what follows it; None to give up."""


def write_nested(root: AnyValue, render: Render) -> str | None:
    """The text of `root` and everything under it, or None when `render` gives up on any value."""
    out: list[str] = []
    ap = out.append
    stack: list[Item] = [root]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        if item.__class__ is str:
            ap(item)
            continue
        text = render(item, push)  # type: ignore[arg-type]
        if text is None:
            return None
        ap(text)
    return "".join(out)


def push_items(push: Push, items: Sequence[AnyValue], separator: str, close: str,
               labels: Sequence[str] | None = None) -> None:
    """Push `items` (each after its label, if any) between separators, then `close`, so they pop in order."""
    push(close)
    for i in range(len(items) - 1, -1, -1):
        push(items[i])
        if labels is not None:
            push(labels[i])
        if i:
            push(separator)
