"""AttributeIndex: the key column grows in place, and a view a reader holds never changes under it."""

from __future__ import annotations

import numpy as np

from kubespan.otlp.attributes import new_attribute_table
from kubespan.store.tables import AttributeIndex
from tests.support.spanfactory import S, batch


def test_key_of_grows_without_changing_what_readers_hold():
    table = new_attribute_table()
    index = AttributeIndex(table.storage)
    held = []
    for round_ in range(100):  # ~50 new ids per round, past a doubling of the buffer
        spans = [S(trace=1, span=round_ * 50 + i + 1, attrs={"id": f"v-{round_}-{i}", f"k{i % 7}": i, "m": "GET"})
                 for i in range(50)]
        batch(spans, table)
        before = [(view, view.copy()) for view in held]
        index.update(len(table))
        assert [np.array_equal(view, copy) for view, copy in before] == [True] * len(before)
        held.append(index.key_of)
    whole = np.frombuffer(table.storage.key_column(0, len(table)), np.int32)
    assert index.seen == len(table) > 4096
    assert index.key_of.tolist() == whole.tolist()
    keys = table.storage.keys()
    assert sorted(index.ids_of_key("m", len(table))) == [i for i, k in enumerate(whole.tolist()) if keys[k] == "m"]
