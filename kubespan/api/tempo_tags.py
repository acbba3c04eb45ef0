"""Tempo's tag endpoints: names (`/api/search/tags`, `/api/v2/search/tags`) and values
(`/api/search/tag/<tag>/values`, `/api/v2/search/tag/<identifier>/values`).

As on Tempo: v1 lists names of every scope but intrinsics (unless `scope=intrinsic`) and values as
sorted strings; v2 groups names by scope (intrinsics too, unless another scope is asked) and types
values (`string`, `int`, `float`, `bool`, `keyword` for status and kind). `q` keeps the names and values
of matching spans; an incomplete `q` keeps the conditions that parse, as Tempo's tag queries do.
`limit` caps each scope (names) or the values. Differences: proto_notes/api.md.
"""

from __future__ import annotations

import re

import numpy as np

from kubespan.api import catalog
from kubespan.api.catalog import ExtraCatalog, TypedValue
from kubespan.api.context import ApiContext
from kubespan.api.gotext import GoSyntaxError, format_duration, parse_int, parse_uint
from kubespan.api.responses import ApiError, Reply, json_reply
from kubespan.api.server import ApiRequest, Route
from kubespan.api.settings import MAX_SEARCH_RANGE_S
from kubespan.query.limits import QueryStopped

INTRINSICS = ["duration", "event:name", "event:timeSinceStart", "instrumentation:name", "instrumentation:version",
              "kind", "link:spanID", "link:traceID", "name", "rootName", "rootServiceName", "span:duration",
              "span:id", "span:kind", "span:name", "span:parentID", "span:status", "span:statusMessage", "status",
              "statusMessage", "trace:duration", "trace:id", "trace:rootName", "trace:rootService", "traceDuration"]
"""Tempo's `search.GetVirtualIntrinsicValues()`."""
SCOPES = ("span", "resource", "event", "link", "instrumentation")
_STATUS_VALUES = ["error", "ok", "unset"]
_KIND_VALUES = ["client", "consumer", "internal", "producer", "server", "unspecified"]
_IDENT = re.compile(r"[A-Za-z0-9_]*")
_ATTRIBUTE = re.compile(r'^(resource|span|event|link|instrumentation)?\.'
                        r'(?:"((?:[^"\\]|\\.)+)"|([^\s{}()"=!<>~&|+*/%^,]+))$')


class Tags:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.extra = ExtraCatalog()

    def routes(self) -> list[Route]:
        return [Route("/api/search/tags", self.names_v1), Route("/api/v2/search/tags", self.names_v2),
                Route("/api/search/tag/{tag:.+}/values", self.values_v1),
                Route("/api/v2/search/tag/{tag:.+}/values", self.values_v2)]

    # ------------------------------------------------------------------ requests
    def _range(self, req: ApiRequest) -> tuple[int, int]:
        values = []
        for name in ("start", "end"):
            text = req.get(name)
            try:
                values.append(parse_int(text, 32) if text is not None else 0)
            except GoSyntaxError as exc:
                raise ApiError(400, f"invalid {name}: {exc}") from None
        start, end = values
        if ((end - start) & 0xFFFFFFFF) > MAX_SEARCH_RANGE_S:
            most = format_duration(MAX_SEARCH_RANGE_S * 10**9)
            raise ApiError(400, f"range specified by start and end exceeds {most}."
                                f" received start={start & 0xFFFFFFFF} end={end & 0xFFFFFFFF}")
        return start, end

    def _subset(self, req: ApiRequest, reader) -> np.ndarray | None:
        """Ordinals of the spans the answer is about: in the window, matching `q`; None for all."""
        start, end = self._range(req)
        text = (req.get("q") or "").strip()
        query = salvage_query(self.ctx, text) if text and text != "{}" else None
        window = None
        if start and end:
            from kubespan.store.reader import TimeWindow

            window = TimeWindow(start * 1_000_000_000, end * 1_000_000_000)
        if query is None and window is None:
            return None
        try:
            return reader.search(query, self.ctx.deadline(), window=window)
        except QueryStopped as exc:
            raise self.ctx.stopped(exc) from None

    @staticmethod
    def _limit(req: ApiRequest, strict: bool) -> int:
        text = req.get("limit")
        if text is None:
            return 0
        try:
            return parse_uint(text, 32)
        except GoSyntaxError as exc:
            if strict:
                raise ApiError(400, f"invalid limit: {exc}") from None
            return 0

    # ------------------------------------------------------------------ names
    def _names(self, req: ApiRequest, per_scope: bool = True) -> dict[str, list[str]]:
        scope = req.get("scope") or ""
        if scope not in ("", "none", "intrinsic") + SCOPES:
            raise ApiError(400, f"invalid scope: {scope}")
        self.ctx.check_query_params(req)
        reader = self.ctx.reader()
        subset = self._subset(req, reader)
        snap = reader.snap
        wanted = SCOPES if scope in ("", "none") else (scope,)
        out: dict[str, set[str]] = {}
        scopes = catalog.live_scopes(snap, subset)
        if subset is None and ("span" in wanted or "resource" in wanted):
            out.update((name, set(keys)) for name, keys in reader.tag_names().items())
        elif "span" in wanted and subset is not None:
            out["span"] = catalog.span_keys(snap, subset)
        if "resource" in wanted and subset is not None:
            out["resource"] = {snap.attributes[a].key for a in catalog.resource_attribute_ids(snap, scopes)}
        if "event" in wanted or "link" in wanted:
            extras = self.extra.extras(snap, subset)
            out["event"], out["link"] = set(extras.event), set(extras.link)
        if "instrumentation" in wanted:
            out["instrumentation"] = set(catalog.scope_attributes(snap, scopes)[0])
        limit = self._limit(req, strict=False) if per_scope else 0
        return {name: sorted(keys)[:limit or None] for name, keys in out.items() if name in wanted}

    def names_v1(self, req: ApiRequest) -> Reply:
        scope = req.get("scope") or ""
        if scope == "intrinsic":
            self._range(req)
            return json_reply({"tagNames": list(INTRINSICS), "metrics": {}})
        names = sorted({n for keys in self._names(req, per_scope=False).values() for n in keys})
        return json_reply({"tagNames": names[:self._limit(req, strict=False) or None],
                           "metrics": {"inspectedBytes": "0"}})

    def names_v2(self, req: ApiRequest) -> Reply:
        scope = req.get("scope") or ""
        scopes = []
        if scope in ("", "none", "intrinsic"):
            scopes.append({"name": "intrinsic", "tags": list(INTRINSICS)})
        if scope != "intrinsic":
            scopes += [{"name": name, "tags": tags} for name, tags in self._names(req).items() if tags]
        else:
            self._range(req)
        return json_reply({"scopes": scopes, "metrics": {} if scope == "intrinsic" else {"inspectedBytes": "0"}})

    # ------------------------------------------------------------------ values
    def values_v1(self, req: ApiRequest) -> Reply:
        tag = req.match["tag"]
        limit = self._limit(req, strict=True)
        self._uint(req, "maxStaleValues")
        reader = self.ctx.reader()
        subset = self._subset(req, reader)
        snap = reader.snap
        if tag == "name":
            texts = catalog.span_names(snap, subset)
        else:
            texts = {_text(v) for v in self._attribute_values(reader, subset, "any", tag, limit)}
        values = sorted(texts)[:limit or None]
        return json_reply({"tagValues": values, "metrics": {"inspectedBytes": "0"}})

    def values_v2(self, req: ApiRequest) -> Reply:
        tag = req.match["tag"]
        scope, key = parse_identifier(tag)
        limit = self._limit(req, strict=True)
        self._uint(req, "maxStaleValues")
        self.ctx.check_query_params(req)
        reader = self.ctx.reader()
        subset = self._subset(req, reader)
        snap = reader.snap
        values: list[dict] = []
        if scope == "intrinsic":
            values = self._intrinsic_values(snap, subset, key)
        else:
            for value in sorted(self._attribute_values(reader, subset, scope, key, limit),
                                key=lambda v: (v[0], str(v[1]))):
                values.append(value_json(value))
        return json_reply({"tagValues": values[:limit or None], "metrics": {"inspectedBytes": "0"}})

    def _uint(self, req: ApiRequest, name: str) -> None:
        text = req.get(name)
        if text is not None:
            try:
                parse_uint(text, 32)
            except GoSyntaxError as exc:
                raise ApiError(400, f"invalid {name}: {exc}") from None

    def _attribute_values(self, reader, subset, scope: str, key: str, limit: int = 0) -> set[TypedValue]:
        snap = reader.snap
        out: set[TypedValue] = set()
        if scope in ("span", "resource", "any"):
            out |= catalog.key_values(snap, key, scope, subset, limit)
        if scope in ("event", "link"):
            extras = self.extra.extras(snap, subset)
            out |= (extras.event if scope == "event" else extras.link).get(key, set())
        if scope == "instrumentation":
            out |= catalog.scope_attributes(snap, catalog.live_scopes(snap, subset))[0].get(key, set())
        return out

    def _intrinsic_values(self, snap, subset, name: str) -> list[dict]:
        name = name.removeprefix("span:") if name in ("span:name", "span:status", "span:kind",
                                                      "span:statusMessage") else name
        if name == "status":
            return [{"type": "keyword", "value": v} for v in _STATUS_VALUES]
        if name == "kind":
            return [{"type": "keyword", "value": v} for v in _KIND_VALUES]
        if name == "name":
            texts = catalog.span_names(snap, subset)
        elif name == "event:name":
            texts = catalog.event_names(snap, subset)
        elif name == "statusMessage":
            texts = self.extra.extras(snap, subset).status_messages
        elif name in ("instrumentation:name", "instrumentation:version"):
            _, names, versions = catalog.scope_attributes(snap, catalog.live_scopes(snap, subset))
            texts = names if name.endswith("name") else versions
        elif name in ("rootServiceName", "trace:rootService", "resource.service.name"):
            texts = {t for _, t in self._attribute_values(self.ctx.reader(), subset, "resource", "service.name")}
        else:
            texts = set()
        return [value_json(("string", t)) for t in sorted(texts)]


def _text(value: TypedValue) -> str:
    kind, raw = value
    if kind == "bool":
        return "true" if raw else "false"
    if kind == "float":
        return _go_float(raw)
    return str(raw)


def _go_float(value: float) -> str:
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def value_json(value: TypedValue) -> dict:
    """A v2 tag value: `{"type": …, "value": "<text>"}`, the value left out when empty (jsonpb)."""
    kind, _ = value
    text = _text(value)
    return {"type": kind, "value": text} if text else {"type": kind}


def parse_identifier(tag: str) -> tuple[str, str]:
    """A TraceQL identifier as `traceql.ParseIdentifier` accepts it: (scope or "any"/"intrinsic", name)."""
    if tag in INTRINSICS or tag in ("span:name", "span:status", "span:kind", "span:statusMessage"):
        return "intrinsic", tag
    match = _ATTRIBUTE.match(tag)
    if match:
        name = match.group(2) if match.group(2) is not None else match.group(3)
        return match.group(1) or "any", name.replace('\\"', '"').replace("\\\\", "\\")
    word = _IDENT.match(tag).group(0) or tag[:1]  # type: ignore[union-attr]  # matches "" at least
    raise ApiError(400, f"please provide a valid tagName: failed to parse identifier {tag}: parse error at line 1, "
                        f"col 2: unknown identifier: {word}")


def salvage_query(ctx: ApiContext, text: str):
    """`q` compiled; if it does not parse, the conditions inside its braces that do (joined as written)."""
    try:
        return ctx.compile(text)
    except ApiError:
        pass
    inner = text.strip()
    inner = inner.removeprefix("{")
    inner = inner.removesuffix("}")
    joiner = "||" if "||" in inner and "&&" not in inner else "&&"
    good = []
    for part in _split_outside_quotes(inner, joiner):
        part = part.strip()
        if not part:
            continue
        try:
            ctx.compile("{ " + part + " }")
        except ApiError:
            continue
        good.append(part)
    if not good:
        return None
    return ctx.compile("{ " + f" {joiner} ".join(good) + " }")


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted, i = False, 0
    while i < len(text):
        c = text[i]
        if c == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        if not quoted and text.startswith(sep, i):
            parts.append("".join(current))
            current, i = [], i + len(sep)
            continue
        current.append(c)
        i += 1
    parts.append("".join(current))
    return parts

