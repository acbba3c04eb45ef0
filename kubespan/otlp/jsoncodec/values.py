"""Decoding of OTLP/JSON attribute values (KeyValue, AnyValue, arrays and
kvlists) and of repeated message arrays, with the nesting limit."""

from __future__ import annotations

from typing import Any, Callable

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from kubespan.otlp.jsoncodec.errors import DecodeFailure, index_of, want
from kubespan.otlp.jsoncodec.scalars import (
    read_b64,
    read_bool,
    read_double,
    read_int64,
    read_list,
    read_obj,
    read_str,
)

MAX_VALUE_NESTING = 30
"""Maximum number of nested arrayValue/kvlistValue levels in one AnyValue."""


def decode_attributes(container: Any, arr: object, depth: int) -> None:
    """Decode a JSON array of KeyValue into a repeated KeyValue container."""
    add = container.add
    items = read_list(arr)
    item = None
    try:
        for item in items:
            kv = add()
            if type(item) is not dict:
                if item is not None:
                    raise want("an object", item)
                kv.value.SetInParent()
                continue
            key = item.get("key")
            if type(key) is str and key.isascii():
                kv.key = key
            elif key is not None:
                try:
                    kv.key = read_str(key)
                except DecodeFailure as e:
                    raise e.at("key") from None
            value = item.get("value")
            if type(value) is dict:
                sv = value.get("stringValue")
                if type(sv) is str and sv.isascii() and len(value) == 1:  # the common case
                    kv.value.string_value = sv
                    continue
            elif value is None:
                kv.value.SetInParent()
                continue
            try:
                _dec_any(kv.value, value, depth)
            except DecodeFailure as e:
                raise e.at("value") from None
    except DecodeFailure as e:
        raise e.at(f"[{index_of(items, item)}]") from None


_ANY_STRING, _ANY_BOOL, _ANY_INT, _ANY_DOUBLE, _ANY_ARRAY, _ANY_KVLIST, _ANY_BYTES = range(7)
_ANY_KEYS = {
    "stringValue": _ANY_STRING,
    "string_value": _ANY_STRING,
    "boolValue": _ANY_BOOL,
    "bool_value": _ANY_BOOL,
    "intValue": _ANY_INT,
    "int_value": _ANY_INT,
    "doubleValue": _ANY_DOUBLE,
    "double_value": _ANY_DOUBLE,
    "arrayValue": _ANY_ARRAY,
    "array_value": _ANY_ARRAY,
    "kvlistValue": _ANY_KVLIST,
    "kvlist_value": _ANY_KVLIST,
    "bytesValue": _ANY_BYTES,
    "bytes_value": _ANY_BYTES,
}


def _dec_any(av: AnyValue, obj: object, depth: int) -> None:
    """Decode an AnyValue object into ``av``; ``depth`` counts enclosing array/kvlist levels."""
    if type(obj) is not dict:
        raise want("an object", obj)
    av.SetInParent()
    for key, val in obj.items():
        kind = _ANY_KEYS.get(key)
        if kind is None or val is None:
            continue
        try:
            if kind == _ANY_STRING:
                av.string_value = read_str(val)
            elif kind == _ANY_INT:
                av.int_value = read_int64(val)
            elif kind == _ANY_BOOL:
                av.bool_value = read_bool(val)
            elif kind == _ANY_DOUBLE:
                av.double_value = read_double(val)
            elif kind == _ANY_BYTES:
                av.bytes_value = read_b64(val)
            else:
                _dec_nested(av, kind, read_obj(val), depth + 1)
        except DecodeFailure as e:
            raise e.at(key) from None


def _dec_nested(av: AnyValue, kind: int, obj: dict[str, Any], depth: int) -> None:
    """Decode an ArrayValue or KeyValueList object into ``av``."""
    if depth > MAX_VALUE_NESTING:
        raise DecodeFailure(f"value nesting deeper than {MAX_VALUE_NESTING} levels")
    target = av.array_value if kind == _ANY_ARRAY else av.kvlist_value
    target.SetInParent()
    values = obj.get("values")
    if values is None:
        return
    try:
        if kind == _ANY_KVLIST:
            decode_attributes(av.kvlist_value.values, values, depth)
            return
        add = av.array_value.values.add
        items = read_list(values)
        item = None
        try:
            for item in items:
                elem = add()
                if item is not None:
                    _dec_any(elem, item, depth)
        except DecodeFailure as e:
            raise e.at(f"[{index_of(items, item)}]") from None
    except DecodeFailure as e:
        raise e.at("values") from None


def decode_repeated(container: Any, arr: object, fill: Callable[[Any, dict[str, Any]], None]) -> None:
    """Decode a JSON array of objects into a repeated message container via ``fill``."""
    add = container.add
    items = read_list(arr)
    item = None
    try:
        for item in items:
            msg = add()
            if type(item) is dict:
                fill(msg, item)
            elif item is None:
                fill(msg, {})
            else:
                raise want("an object", item)
    except DecodeFailure as e:
        raise e.at(f"[{index_of(items, item)}]") from None

