/* Shared by kubespan's compiled decoder (setup.py builds kubespan.otlp._spanwalk from csrc/).

   Reading the protobuf wire format: a cursor over a message, its fields, and the
   Python objects made from them. Field numbers are named in generated.h, written from the
   official opentelemetry/proto descriptors. Every walk here answers WALK_UNUSUAL for
   anything but the common case, and the Python code then does the work: so the C
   decides how fast the common case goes, never what is accepted or how it reads.
*/
#ifndef KUBESPAN_WIRE_H
#define KUBESPAN_WIRE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "generated.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };
enum { TRACE_ID_BYTES = 16, SPAN_ID_BYTES = 8 };

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} Cursor;

typedef struct {
    const uint8_t *p;
    Py_ssize_t n;
} Slice;

/* Outcome of walking one message: go on, stop with None (not the common case), or error. */
enum { WALK_OK = 1, WALK_UNUSUAL = 0, WALK_ERROR = -1 };

/* 1 and the value on success; 0 at the end of input or on an overlong varint. */
static inline int read_varint(Cursor *c, uint64_t *out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64 && c->p < c->end; shift += 7) {
        uint8_t byte = *c->p++;
        value |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80) {
            *out = value;
            return 1;
        }
    }
    return 0;
}

/* Read a field key; 0 when the message is done or malformed (*ok tells which). */
static inline int next_field(Cursor *c, uint32_t *number, int *wire_type, int *ok) {
    uint64_t key;
    if (c->p >= c->end) {
        *ok = 1;
        return 0;
    }
    if (!read_varint(c, &key) || (key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF) {
        *ok = 0;
        return 0;
    }
    *number = (uint32_t)(key >> 3);
    *wire_type = (int)(key & 7);
    return 1;
}

static inline int read_slice(Cursor *c, Slice *out) {
    uint64_t length;
    if (!read_varint(c, &length) || length > (uint64_t)(c->end - c->p))
        return 0;
    out->p = c->p;
    out->n = (Py_ssize_t)length;
    c->p += length;
    return 1;
}

static inline int read_fixed64(Cursor *c, uint64_t *out) {
    if (c->end - c->p < 8)
        return 0;
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | c->p[i];
    c->p += 8;
    *out = value;
    return 1;
}

/* Skip a field of an unknown number; groups (wire types 3, 4) are not the common case. */
static inline int skip_field(Cursor *c, int wire_type) {
    uint64_t ignored;
    Slice slice;
    switch (wire_type) {
    case WT_VARINT:
        return read_varint(c, &ignored);
    case WT_I64:
        if (c->end - c->p < 8)
            return 0;
        c->p += 8;
        return 1;
    case WT_LEN:
        return read_slice(c, &slice);
    case WT_I32:
        if (c->end - c->p < 4)
            return 0;
        c->p += 4;
        return 1;
    default:
        return 0;
    }
}

/* Append `item` to `list`, taking the reference; 0 on failure. */
static inline int append_new(PyObject *list, PyObject *item) {
    if (item == NULL)
        return 0;
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed == 0;
}

/* The str of UTF-8 text; NULL with no exception set when it is not UTF-8 (not the common case). */
static inline PyObject *text_of(Slice s) {
    PyObject *text = PyUnicode_DecodeUTF8((const char *)(s.p ? s.p : (const uint8_t *)""), s.n, NULL);
    if (text == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        PyErr_Clear();
    return text;
}

static inline PyObject *bytes_of(Slice s) { return PyBytes_FromStringAndSize((const char *)(s.p ? s.p : (const uint8_t *)""), s.n); }

/* Collect the fields of a message; WALK_UNUSUAL on anything the walk leaves to protobuf. */
#define FIELD_LEN(target) do { if (wire_type != WT_LEN || !read_slice(&c, &(target))) return WALK_UNUSUAL; } while (0)
#define FIELD_VARINT(target) do { if (wire_type != WT_VARINT || !read_varint(&c, &(target))) return WALK_UNUSUAL; } while (0)
#define FIELD_FIXED64(target) do { if (wire_type != WT_I64 || !read_fixed64(&c, &(target))) return WALK_UNUSUAL; } while (0)
#define FIELD_FIXED32(target) do { if (wire_type != WT_I32 || c.end - c.p < 4) return WALK_UNUSUAL; \
    (target) = (uint32_t)c.p[0] | (uint32_t)c.p[1] << 8 | (uint32_t)c.p[2] << 16 | (uint32_t)c.p[3] << 24; c.p += 4; } while (0)
#define FIELD_REPEATED(list) do { Slice item_; FIELD_LEN(item_); if (!keep(&(list), item_)) return WALK_UNUSUAL; } while (0)
#define FIELD_SKIP() do { if (!skip_field(&c, wire_type)) return WALK_UNUSUAL; } while (0)
#define FIELDS_OF(slice) Cursor c = {(slice).p, (slice).p + (slice).n}; uint32_t number; int wire_type, ok; \
    while (next_field(&c, &number, &wire_type, &ok))
#define FIELDS_END() if (!ok) return WALK_UNUSUAL


/* A visit of every span of a request (walk.c): `scope_begins` (may be NULL) at each ScopeSpans,
   numbered from 0 over the whole request in wire order, then `span` for each of its spans.
   A callback's answer other than WALK_OK ends the walk with that answer. */
typedef struct {
    int (*scope_begins)(void *context, long scope);
    int (*span)(void *context, long scope, Slice span);
} SpanVisit;

/* Walk an ExportTraceServiceRequest: WALK_UNUSUAL for a container field of an unexpected wire
   type or anything that does not parse, else the first answer of a callback that is not WALK_OK. */
int walk_spans(Slice request, const SpanVisit *visit, void *context);

/* Status.message and Status.code, each the last occurrence as protobuf merges them (walk.c);
   0 when the status is not the common case. */
int read_status(Slice status, Slice *message, int64_t *code);

/* Module functions, one file each. */
PyObject *span_arrays(PyObject *module, PyObject *args);
PyObject *span_json_lines(PyObject *module, PyObject *args);
PyObject *count_messages(PyObject *module, PyObject *args, PyObject *kwargs);

#endif
