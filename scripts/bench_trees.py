"""CPU time per span of the decoder and the encoders in two kubespan checkouts, alternately, in one run.

    python scripts/bench_trees.py --base-tree /tmp/kubespan-base [--rounds 3]

Each measure runs in a fresh interpreter that imports kubespan from one checkout (its compiled
decoder built in place: `python setup.py build_ext --inplace`), over the same 100 requests of 512
demo spans, and takes the best of several passes of `time.process_time` (CPU time, which the
shared machine disturbs less than the wall clock). The checkouts alternate, so both meet the
machine's moods; the median over rounds is printed.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MEASURE = r'''
import pickle, sys, time
tree, payload_file, passes = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, tree)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from kubespan.otlp.decode import decode_request
try:
    from kubespan.otlp.attributes import new_attribute_table as new_table
except ImportError:  # before the model move
    from kubespan.otlp.attributes import AttributeTable as new_table
try:
    from kubespan.encode.span_lines import RawAttributeJson, raw_span_json_lines
    from kubespan.encode.debugtext import render_traces
except ImportError:  # before the encoder move
    from kubespan.otlp.jsoncodec import RawAttributeJson, raw_span_json_lines
    from kubespan.otlp.debugtext import render_traces
payloads, spans = pickle.load(open(payload_file, "rb"))
requests = [ExportTraceServiceRequest.FromString(raw) for raw in payloads[:30]]
table = new_table()
for raw in payloads:
    decode_request(raw, table)

def best(run, count):
    fastest = float("inf")
    for _ in range(passes):
        began = time.process_time()
        run()
        fastest = min(fastest, time.process_time() - began)
    return 1e6 * fastest / count

print("decode", best(lambda: [decode_request(raw, table) for raw in payloads], spans))
print("span lines", best(lambda: [raw_span_json_lines(raw, RawAttributeJson()) for raw in payloads], spans))
print("print", best(lambda: [render_traces(request) for request in requests], 512 * len(requests)))
print("print legacy", best(lambda: [render_traces(request, legacy=True) for request in requests], 512 * len(requests)))
'''


def measure(tree: str, payload_file: str, passes: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", MEASURE, tree, payload_file, str(passes)], cwd=tempfile.gettempdir(),
                          capture_output=True, text=True, check=True)
    return {name: float(value) for name, value in (line.rsplit(" ", 1) for line in done.stdout.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-tree", required=True, help="the other checkout (before)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, HERE)
    from kubespan.k8s.demo import load_batch

    payloads = load_batch(512 * 100, seed=1, batch_size=512)
    with tempfile.NamedTemporaryFile(suffix=".pickle", delete=False) as file:
        pickle.dump((payloads, 512 * 100), file)
    trees = {"before": os.path.abspath(args.base_tree), "after": HERE}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    try:
        for _ in range(args.rounds):
            for name, tree in trees.items():
                runs[name].append(measure(tree, file.name, args.passes))
    finally:
        os.unlink(file.name)
    print(f"{'µs of CPU per span':<22} {'before':>8} {'after':>8} {'after/before':>12}")
    for key in runs["after"][0]:
        before = statistics.median(run[key] for run in runs["before"])
        after = statistics.median(run[key] for run in runs["after"])
        print(f"{key:<22} {before:>8.3f} {after:>8.3f} {after / before:>12.2f}")
    print(f"(medians of {args.rounds} rounds, best of {args.passes} passes each; before={trees['before']})")


if __name__ == "__main__":
    main()
