"""Waterfall layout: tree order, folding, orphans, cycles, bars."""

from __future__ import annotations

from dataclasses import dataclass

from kubespan.tui.format import format_duration
from kubespan.tui.tree import bar_cells, build_tree, service_color, tree_prefix


@dataclass
class Row:
    ordinal: int
    span_id: bytes
    parent_id: bytes
    start: int
    name: str = ""


def rows(*specs):
    return [Row(i, sid.encode(), pid.encode(), start, sid) for i, (sid, pid, start) in enumerate(specs)]


def names(lines):
    return [(line.depth, line.row.name) for line in lines]


def test_depth_first_children_by_start():
    tree = build_tree(rows(("root", "", 0), ("b", "root", 20), ("a", "root", 10), ("a1", "a", 11)))
    assert names(tree) == [(0, "root"), (1, "a"), (2, "a1"), (1, "b")]
    assert tree[0].child_count == 2


def test_orphans_at_root_after_real_roots():
    tree = build_tree(rows(("orphan", "missing", 0), ("root", "", 5), ("kid", "root", 6)))
    assert names(tree) == [(0, "root"), (1, "kid"), (0, "orphan")]
    assert tree[2].orphan and not tree[0].orphan


def test_folding_hides_descendants():
    data = rows(("root", "", 0), ("a", "root", 1), ("a1", "a", 2), ("b", "root", 3))
    tree = build_tree(data, folded={b"a"})
    assert names(tree) == [(0, "root"), (1, "a"), (1, "b")]
    assert tree[1].folded and tree_prefix(tree[1]).endswith("▸ ")


def test_cycles_and_duplicates_terminate():
    data = rows(("a", "b", 0), ("b", "a", 1), ("c", "c", 2), ("a", "", 3))
    tree = build_tree(data)
    assert sorted(line.row.ordinal for line in tree) == [0, 1, 2, 3]


def test_bars_and_colors():
    assert bar_cells(0, 100, 0, 100, 10) == (0, 10)
    assert bar_cells(50, 50, 0, 100, 10) == (5, 1)
    assert bar_cells(0, 1, 0, 1_000_000, 10) == (0, 1)
    assert service_color("kubelet") == service_color("kubelet")


def test_format_duration():
    assert [format_duration(v) for v in (850, 12_300, 1_330_000, 1_330_000_000, 187_000_000_000)] == [
        "850ns", "12.3µs", "1.33ms", "1.33s", "3m07s"]
