#!/usr/bin/env python3
"""How much of Tempo's TraceQL search language kubespan accepts, measured on Tempo's own corpus.

    python scripts/traceql_acceptance.py /work/tempo-src [--tempo http://127.0.0.1:53200] [--list]

The corpus is read from the Tempo source tree given: `pkg/traceql/test_examples.yaml` (valid,
parse_fails, validate_fails, unsupported), the `in:` queries of `pkg/traceql/*_test.go`, and the
code blocks of `docs/sources/tempo/traceql/`. Tempo's verdict is the yaml section; for the other
queries it is asked from a running Tempo (`--tempo`: `/api/search` answers 400 for a query Tempo
refuses), or, without one, taken from `parse_test.go`'s expected error. TraceQL metrics queries are
left out (search only). Reported: Tempo-valid queries kubespan accepts, and Tempo-invalid ones it
refuses with a column (a refusal needs a column inside the query; strings kubespan reads as its
shorthand, such as a bare word, are listed apart).
"""

from __future__ import annotations

import argparse
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubespan.query import QuerySyntaxError, compile_query  # noqa: E402

METRICS = re.compile(r"\b(rate|count_over_time|min_over_time|max_over_time|avg_over_time|sum_over_time|"
                     r"quantile_over_time|histogram_over_time|compare|topk|bottomk)\s*\(")
GO_IN = re.compile(r'\bin:\s*(?:"((?:[^"\\\n]|\\.)*)"|`([^`]*)`)')
FENCE = re.compile(r"```(?:traceql)?\n(.*?)```", re.S)


def corpus(tempo_src: Path) -> dict[str, str | None]:
    """query -> "valid" / "invalid" / None (verdict unknown yet)."""
    found: dict[str, str | None] = {}
    examples = yaml.safe_load((tempo_src / "pkg/traceql/test_examples.yaml").read_text())
    for section, verdict in (("valid", "valid"), ("parse_fails", "invalid"), ("validate_fails", "invalid"),
                             ("unsupported", "invalid")):
        for query in examples.get(section) or []:
            found[query] = verdict
    for path in sorted((tempo_src / "pkg/traceql").glob("*_test.go")):
        text = path.read_text()
        for match in GO_IN.finditer(text):
            query = match.group(2) if match.group(2) is not None else _go_unquote(match.group(1))
            line_end = text.find("\n", match.end())
            if path.name == "parse_test.go" and "err:" in text[match.end():line_end]:
                found.setdefault(query, "invalid")
            else:
                found.setdefault(query, None)
    for path in sorted((tempo_src / "docs/sources/tempo/traceql").rglob("*.md")):
        for block in FENCE.findall(path.read_text()):
            for line in block.splitlines():
                line = line.strip()
                if line.startswith(("{", "(")) or re.match(r"(count|avg|min|max|sum|by|select)\s*\(", line):
                    found.setdefault(line, None)
    return {q: v for q, v in found.items() if q.strip() and not METRICS.search(q)}


def _go_unquote(text: str) -> str:
    return bytes(text, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8", "replace")


def tempo_verdict(api: str, query: str) -> str:
    url = f"{api}/api/search?" + urllib.parse.urlencode({"q": query, "limit": 1, "start": 1, "end": 2})
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return "valid"
    except urllib.error.HTTPError as exc:
        return "invalid" if exc.code == 400 else "unknown"


def kubespan_verdict(query: str) -> tuple[str, str]:
    try:
        parsed = compile_query(query)
    except QuerySyntaxError as err:
        ok = 1 <= err.column <= len(query) + 1
        return ("refused" if ok else "refused without a column"), err.message
    except Exception as exc:  # a crash is a finding, not a verdict
        return "crashed", f"{type(exc).__name__}: {exc}"
    return ("accepted" if parsed.syntax == "traceql" else "shorthand"), ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tempo_src", type=Path)
    parser.add_argument("--tempo", help="a running Tempo's HTTP API, to ask for verdicts")
    parser.add_argument("--list", action="store_true", help="list every disagreement")
    args = parser.parse_args()
    queries = corpus(args.tempo_src)
    if args.tempo:
        for query, verdict in queries.items():
            if verdict is None:
                queries[query] = tempo_verdict(args.tempo.rstrip("/"), query)
    else:
        queries = {q: ("valid" if v is None else v) for q, v in queries.items()}
    valid = [q for q, v in queries.items() if v == "valid"]
    invalid = [q for q, v in queries.items() if v == "invalid"]
    accepted = [q for q in valid if kubespan_verdict(q)[0] == "accepted"]
    refused = [q for q in invalid if kubespan_verdict(q)[0] == "refused"]
    shorthand = [q for q in invalid if kubespan_verdict(q)[0] == "shorthand"]
    crashed = [q for q in queries if kubespan_verdict(q)[0] == "crashed"]
    print(f"Tempo-valid search queries accepted: {len(accepted)}/{len(valid)} "
          f"({100 * len(accepted) / max(1, len(valid)):.1f}%)")
    print(f"Tempo-invalid queries refused with a column: {len(refused)}/{len(invalid)} "
          f"(+{len(shorthand)} read as the shorthand)")
    print(f"crashes: {len(crashed)}")
    if args.list:
        for query in valid:
            if query not in accepted:
                print("VALID, refused:", query, "->", kubespan_verdict(query)[1])
        for query in invalid:
            if query not in refused:
                print("INVALID, not refused:", query, "->", kubespan_verdict(query)[0])
        for query in crashed:
            print("CRASH:", query, kubespan_verdict(query)[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
