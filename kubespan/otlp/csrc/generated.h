/* Written by `python -m kubespan.otlp.c_header` from kubespan's Python definitions: do not edit.
   tests/otlp/test_c_header.py fails when this file is out of date. */
#ifndef KUBESPAN_GENERATED_H
#define KUBESPAN_GENERATED_H

#include <stdint.h>

/* kubespan.model.PACKED_ARRAYS: the arrays span_arrays returns, in order. */
enum { PACKED_TRACE_ID, PACKED_SPAN_ID, PACKED_PARENT_ID, PACKED_PARENT_SET, PACKED_NAME, PACKED_KIND, PACKED_START, PACKED_END, PACKED_STATUS, PACKED_SCOPE, PACKED_ATTRIBUTE_IDS, PACKED_ATTRIBUTE_OFFSETS, PACKED_EVENT_NAMES, PACKED_EVENT_OFFSETS, PACKED_COUNT };

/* kubespan.encode.inert.TERMINAL_ACTIVE from U+007F on (JSON escapes the rest itself):
   inclusive ranges of the code points the JSON writer writes as \uXXXX. */
static const uint32_t TERMINAL_ACTIVE[7][2] = {
    {0x007F, 0x009F},
    {0x061C, 0x061C},
    {0x200B, 0x200F},
    {0x2028, 0x202E},
    {0x2060, 0x206F},
    {0xFEFF, 0xFEFF},
    {0xFFF9, 0xFFFB}
};

/* Field numbers, from the official opentelemetry/proto descriptors. */
enum {
    REQUEST_RESOURCE_SPANS = 1,
    RESOURCE_SPANS_RESOURCE = 1,
    RESOURCE_SPANS_SCOPE_SPANS = 2,
    SCOPE_SPANS_SCOPE = 1,
    SCOPE_SPANS_SPANS = 2,
    SPAN_TRACE_ID = 1,
    SPAN_SPAN_ID = 2,
    SPAN_TRACE_STATE = 3,
    SPAN_PARENT_SPAN_ID = 4,
    SPAN_NAME = 5,
    SPAN_KIND = 6,
    SPAN_START_TIME_UNIX_NANO = 7,
    SPAN_END_TIME_UNIX_NANO = 8,
    SPAN_ATTRIBUTES = 9,
    SPAN_DROPPED_ATTRIBUTES_COUNT = 10,
    SPAN_EVENTS = 11,
    SPAN_DROPPED_EVENTS_COUNT = 12,
    SPAN_LINKS = 13,
    SPAN_DROPPED_LINKS_COUNT = 14,
    SPAN_STATUS = 15,
    SPAN_FLAGS = 16,
    EVENT_TIME_UNIX_NANO = 1,
    EVENT_NAME = 2,
    EVENT_ATTRIBUTES = 3,
    EVENT_DROPPED_ATTRIBUTES_COUNT = 4,
    LINK_TRACE_ID = 1,
    LINK_SPAN_ID = 2,
    LINK_TRACE_STATE = 3,
    LINK_ATTRIBUTES = 4,
    LINK_DROPPED_ATTRIBUTES_COUNT = 5,
    LINK_FLAGS = 6,
    STATUS_MESSAGE = 2,
    STATUS_CODE = 3,
};

#endif
