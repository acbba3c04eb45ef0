"""Collector-style compact JSON of any protobuf message.

Trace requests go through the fast span writer; other messages (the export
response, ``google.rpc.Status``) through a generic, descriptor-driven writer.
"""

from __future__ import annotations

import binascii
import json
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from kubespan.encode.otlp_json import encode_request_json, json_double, json_string

_ALWAYS_WRITTEN = {
    (ExportTraceServiceResponse.DESCRIPTOR.full_name, "partial_success"),
}
_FD = FieldDescriptor
_INT64_TYPES = {_FD.TYPE_INT64, _FD.TYPE_UINT64, _FD.TYPE_FIXED64, _FD.TYPE_SFIXED64, _FD.TYPE_SINT64}
_TYPE_DOUBLE, _TYPE_FLOAT, _TYPE_BOOL = _FD.TYPE_DOUBLE, _FD.TYPE_FLOAT, _FD.TYPE_BOOL
_TYPE_STRING, _TYPE_MESSAGE, _TYPE_BYTES = _FD.TYPE_STRING, _FD.TYPE_MESSAGE, _FD.TYPE_BYTES


def _scalar_json(fd: Any, value: Any) -> str:
    t = fd.type
    if t == _TYPE_STRING:
        return json_string(value)
    if t == _TYPE_BOOL:
        return "true" if value else "false"
    if t in (_TYPE_DOUBLE, _TYPE_FLOAT):
        return json_double(value)
    if t == _TYPE_BYTES:
        return '"' + binascii.b2a_base64(value, newline=False).decode() + '"'
    if t in _INT64_TYPES:
        return '"' + str(value) + '"'
    return str(int(value))  # 32-bit ints and enums


def _value_json(fd: Any, value: Any) -> str:
    if fd.type != _TYPE_MESSAGE:
        return _scalar_json(fd, value)
    if fd.message_type.full_name == "google.protobuf.Any":
        return json.dumps(json_format.MessageToDict(value), separators=(",", ":"))
    return _generic_json(value)


def _generic_json(msg: Message) -> str:
    """pdata-style JSON of any message: declaration order, zero fields omitted."""
    out = []
    full_name = msg.DESCRIPTOR.full_name
    for fd in msg.DESCRIPTOR.fields:
        value = getattr(msg, fd.name)
        if _is_repeated(fd):
            if len(value):
                out.append(
                    json_string(fd.json_name)
                    + ":["
                    + ",".join(_value_json(fd, v) for v in value)
                    + "]"
                )
        elif fd.type == _TYPE_MESSAGE:
            if msg.HasField(fd.name) or (full_name, fd.name) in _ALWAYS_WRITTEN:
                out.append(json_string(fd.json_name) + ":" + _generic_json(value))
        elif value:
            out.append(json_string(fd.json_name) + ":" + _scalar_json(fd, value))
    return "{" + ",".join(out) + "}"


def _is_repeated(fd: Any) -> bool:
    rep = getattr(fd, "is_repeated", None)
    if rep is not None:
        return bool(rep)
    return bool(fd.label == fd.LABEL_REPEATED)


def encode_message_json(msg: Message) -> str:
    """Collector-style compact JSON of any message.

    Trace requests use the fast span writer; ``ExportTraceServiceResponse()``
    gives ``{"partialSuccess":{}}`` like the Collector; a ``google.rpc.Status``
    gives ``{"code":3,"message":"..."}``.
    """
    if msg.DESCRIPTOR.full_name in (
        ExportTraceServiceRequest.DESCRIPTOR.full_name,
        "opentelemetry.proto.trace.v1.TracesData",
    ):
        return encode_request_json(cast(ExportTraceServiceRequest, msg))
    return _generic_json(msg)

