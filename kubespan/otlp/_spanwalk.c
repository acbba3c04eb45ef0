/* The edge decoder's span columns, read straight off the wire.

   `span_columns(raw, ids, intern)` walks an ExportTraceServiceRequest that upb has
   already parsed (so validated: UTF-8, nesting, wire types of official messages) and
   returns the columns `kubespan.otlp.decode` reads with protobuf's per-field
   accessors, at a fraction of their cost. Field numbers are those of the official
   opentelemetry/proto/trace/v1/trace.proto.

   It answers None whenever the request is anything but the common case (a span with
   an invalid id, a known field with an unexpected wire type, a group, anything that
   does not parse), and the Python decoder then does the work, rejections included.
   So the only thing this file decides is how fast the common case goes; what is
   accepted and how it reads is the Python decoder's.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

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

/* 1 and the value on success; 0 at the end of input or on an overlong varint. */
static int read_varint(Cursor *c, uint64_t *out) {
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
static int next_field(Cursor *c, uint32_t *number, int *wire_type, int *ok) {
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

static int read_slice(Cursor *c, Slice *out) {
    uint64_t length;
    if (!read_varint(c, &length) || length > (uint64_t)(c->end - c->p))
        return 0;
    out->p = c->p;
    out->n = (Py_ssize_t)length;
    c->p += length;
    return 1;
}

static int read_fixed64(Cursor *c, uint64_t *out) {
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
static int skip_field(Cursor *c, int wire_type) {
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

/* The columns under construction; every member is a new list. */
typedef struct {
    PyObject *trace_id, *span_id, *parent_id, *name, *kind, *start, *end, *status, *scope,
        *attribute_ids, *event_names;
} Columns;

#define COLUMN_COUNT 11

static PyObject **column_slots(Columns *columns) { return &columns->trace_id; }

static int columns_init(Columns *columns) {
    PyObject **slots = column_slots(columns);
    for (int i = 0; i < COLUMN_COUNT; i++) {
        slots[i] = PyList_New(0);
        if (slots[i] == NULL)
            return 0;
    }
    return 1;
}

static void columns_clear(Columns *columns) {
    PyObject **slots = column_slots(columns);
    for (int i = 0; i < COLUMN_COUNT; i++)
        Py_CLEAR(slots[i]);
}

/* Append `item` to `list`, taking the reference; 0 on failure. */
static int append_new(PyObject *list, PyObject *item) {
    if (item == NULL)
        return 0;
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed == 0;
}

/* Outcome of walking one message: go on, stop with None (not the common case), or error. */
enum { WALK_OK = 1, WALK_UNUSUAL = 0, WALK_ERROR = -1 };

/* The id of one attribute's KeyValue bytes: the table's, or interned by the callback. */
static PyObject *attribute_id(Slice kv, PyObject *ids, PyObject *intern) {
    PyObject *raw = PyBytes_FromStringAndSize((const char *)kv.p, kv.n);
    if (raw == NULL)
        return NULL;
    PyObject *found = PyDict_GetItemWithError(ids, raw);
    if (found != NULL) {
        Py_INCREF(found);
    } else if (!PyErr_Occurred()) {
        found = PyObject_CallOneArg(intern, raw);
    }
    Py_DECREF(raw);
    return found;
}

/* Status.code (field 3), the last occurrence winning as protobuf merges. */
static int status_code(Slice status, int64_t *code) {
    Cursor c = {status.p, status.p + status.n};
    uint32_t number;
    int wire_type, ok;
    while (next_field(&c, &number, &wire_type, &ok)) {
        if (number == 3) {
            uint64_t value;
            if (wire_type != WT_VARINT || !read_varint(&c, &value))
                return 0;
            *code = (int32_t)value;
        } else if (!skip_field(&c, wire_type)) {
            return 0;
        }
    }
    return ok;
}

/* Event.name (field 2), "" when absent. */
static int event_name(Slice event, Slice *name) {
    Cursor c = {event.p, event.p + event.n};
    uint32_t number;
    int wire_type, ok;
    name->p = NULL;
    name->n = 0;
    while (next_field(&c, &number, &wire_type, &ok)) {
        if (number == 2) {
            if (wire_type != WT_LEN || !read_slice(&c, name))
                return 0;
        } else if (!skip_field(&c, wire_type)) {
            return 0;
        }
    }
    return ok;
}

static int all_zero(Slice s) {
    for (Py_ssize_t i = 0; i < s.n; i++)
        if (s.p[i])
            return 0;
    return 1;
}

static PyObject *bytes_of(Slice s) { return PyBytes_FromStringAndSize((const char *)(s.p ? s.p : (const uint8_t *)""), s.n); }

/* Append the events' names of one span as a tuple. */
static int append_event_names(Columns *out, PyObject *names) {
    PyObject *tuple = PyList_AsTuple(names);
    return append_new(out->event_names, tuple);
}

static int walk_span(Slice span, long scope, Columns *out, PyObject *ids, PyObject *intern) {
    Cursor c = {span.p, span.p + span.n};
    Slice trace_id = {NULL, 0}, span_id = {NULL, 0}, parent_id = {NULL, 0}, name = {NULL, 0}, slice;
    uint64_t kind = 0, start = 0, end = 0;
    int64_t code = 0;
    uint32_t number;
    int wire_type, ok;
    PyObject *attributes = PyList_New(0), *events = PyList_New(0);
    if (attributes == NULL || events == NULL)
        goto error;
    while (next_field(&c, &number, &wire_type, &ok)) {
        switch (number) {
        case 1: case 2: case 4: case 5: case 9: case 11: case 15:
            if (wire_type != WT_LEN || !read_slice(&c, &slice))
                goto unusual;
            if (number == 1) trace_id = slice;
            else if (number == 2) span_id = slice;
            else if (number == 4) parent_id = slice;
            else if (number == 5) name = slice;
            else if (number == 15) {
                if (!status_code(slice, &code))
                    goto unusual;
            } else if (number == 9) {
                if (!append_new(attributes, attribute_id(slice, ids, intern)))
                    goto error;
            } else {
                Slice event;
                if (!event_name(slice, &event))
                    goto unusual;
                if (!append_new(events, PyUnicode_DecodeUTF8((const char *)(event.p ? event.p : (const uint8_t *)""), event.n, NULL)))
                    goto error;
            }
            break;
        case 6:
            if (wire_type != WT_VARINT || !read_varint(&c, &kind))
                goto unusual;
            break;
        case 7: case 8:
            if (wire_type != WT_I64 || !read_fixed64(&c, number == 7 ? &start : &end))
                goto unusual;
            break;
        case 3: case 10: case 12: case 13: case 14: case 16:
            if (!skip_field(&c, wire_type))
                goto unusual;
            break;
        default:
            if (!skip_field(&c, wire_type))
                goto unusual;
        }
    }
    if (!ok || trace_id.n != TRACE_ID_BYTES || all_zero(trace_id) || span_id.n != SPAN_ID_BYTES
        || all_zero(span_id) || (parent_id.n != 0 && parent_id.n != SPAN_ID_BYTES))
        goto unusual;
    if (!append_new(out->trace_id, bytes_of(trace_id)) || !append_new(out->span_id, bytes_of(span_id))
        || !append_new(out->parent_id, bytes_of(parent_id))
        || !append_new(out->name, PyUnicode_DecodeUTF8((const char *)(name.p ? name.p : (const uint8_t *)""), name.n, NULL))
        || !append_new(out->kind, PyLong_FromLong((int32_t)kind))
        || !append_new(out->start, PyLong_FromUnsignedLongLong(start))
        || !append_new(out->end, PyLong_FromUnsignedLongLong(end))
        || !append_new(out->status, PyLong_FromLongLong(code))
        || !append_new(out->scope, PyLong_FromLong(scope))
        || PyList_Append(out->attribute_ids, attributes) != 0
        || !append_event_names(out, events))
        goto error;
    Py_DECREF(attributes);
    Py_DECREF(events);
    return WALK_OK;
unusual:
    Py_XDECREF(attributes);
    Py_XDECREF(events);
    return WALK_UNUSUAL;
error:
    Py_XDECREF(attributes);
    Py_XDECREF(events);
    return WALK_ERROR;
}

/* The spans (field 2) of one ScopeSpans. */
static int walk_scope_spans(Slice scope_spans, long scope, Columns *out, PyObject *ids, PyObject *intern) {
    Cursor c = {scope_spans.p, scope_spans.p + scope_spans.n};
    uint32_t number;
    int wire_type, ok;
    Slice span;
    while (next_field(&c, &number, &wire_type, &ok)) {
        if (number == 2 || number == 1) {
            if (wire_type != WT_LEN || !read_slice(&c, &span))
                return WALK_UNUSUAL;
            if (number == 2) {
                int walked = walk_span(span, scope, out, ids, intern);
                if (walked != WALK_OK)
                    return walked;
            }
        } else if (!skip_field(&c, wire_type)) {
            return WALK_UNUSUAL;
        }
    }
    return ok ? WALK_OK : WALK_UNUSUAL;
}

/* The scope spans (field 2) of one ResourceSpans, numbered on from *scope. */
static int walk_resource_spans(Slice resource_spans, long *scope, Columns *out, PyObject *ids, PyObject *intern) {
    Cursor c = {resource_spans.p, resource_spans.p + resource_spans.n};
    uint32_t number;
    int wire_type, ok;
    Slice scope_spans;
    while (next_field(&c, &number, &wire_type, &ok)) {
        if (number == 2 || number == 1) {
            if (wire_type != WT_LEN || !read_slice(&c, &scope_spans))
                return WALK_UNUSUAL;
            if (number == 2) {
                int walked = walk_scope_spans(scope_spans, (*scope)++, out, ids, intern);
                if (walked != WALK_OK)
                    return walked;
            }
        } else if (!skip_field(&c, wire_type)) {
            return WALK_UNUSUAL;
        }
    }
    return ok ? WALK_OK : WALK_UNUSUAL;
}

static PyObject *span_columns(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer raw;
    PyObject *ids, *intern;
    if (!PyArg_ParseTuple(args, "y*O!O:span_columns", &raw, &PyDict_Type, &ids, &intern))
        return NULL;
    Columns columns = {0};
    PyObject *result = NULL;
    int walked = WALK_ERROR;
    if (columns_init(&columns)) {
        Cursor c = {raw.buf, (const uint8_t *)raw.buf + raw.len};
        uint32_t number;
        int wire_type, ok = 1;
        long scope = 0;
        Slice resource_spans;
        walked = WALK_OK;
        while (walked == WALK_OK && next_field(&c, &number, &wire_type, &ok)) {
            if (number == 1) {
                if (wire_type != WT_LEN || !read_slice(&c, &resource_spans))
                    walked = WALK_UNUSUAL;
                else
                    walked = walk_resource_spans(resource_spans, &scope, &columns, ids, intern);
            } else if (!skip_field(&c, wire_type)) {
                walked = WALK_UNUSUAL;
            }
        }
        if (walked == WALK_OK && !ok)
            walked = WALK_UNUSUAL;
    }
    if (walked == WALK_OK) {
        PyObject **slots = column_slots(&columns);
        result = PyTuple_New(COLUMN_COUNT);
        if (result != NULL)
            for (int i = 0; i < COLUMN_COUNT; i++) {
                PyTuple_SET_ITEM(result, i, slots[i]);
                slots[i] = NULL;
            }
    } else if (walked == WALK_UNUSUAL) {
        result = Py_NewRef(Py_None);
    }
    columns_clear(&columns);
    PyBuffer_Release(&raw);
    return result;
}

/* ---- count_messages: the message-bomb check, with the Python walk's semantics to the letter.

   Reads are bounded by the buffer only and loops by the message end, as in
   kubespan/otlp/wire.py; any failure ends the walk with the counts so far, and a scope
   whose spans cannot all be counted adds none of them. Positions and varints are
   128-bit so that, like Python's ints, they never wrap: a varint of ten bytes holds up
   to 70 bits. */

typedef unsigned __int128 Position;

typedef struct {
    const uint8_t *buf;
    Position size;
} Wire;

/* A varint at *position, as wire.py's _varint: 0 past the buffer or beyond 63 bits of shift. */
static int wire_varint(const Wire *w, Position *position, Position *out) {
    Position result = 0;
    for (int shift = 0;; shift += 7) {
        if (shift > 63 || *position >= w->size)
            return 0;
        uint8_t byte = w->buf[(size_t)(*position)++];
        result |= (Position)(byte & 0x7F) << shift;
        if (byte < 0x80) {
            *out = result;
            return 1;
        }
    }
}

/* One field at *position: its number and, if length-delimited, where its payload starts and ends. */
static int wire_field(const Wire *w, Position *position, Position *number, int *delimited, Position *start,
                      Position *end) {
    Position key, value;
    if (!wire_varint(w, position, &key))
        return 0;
    *number = key >> 3;
    *delimited = 0;
    switch ((int)(key & 7)) {
    case WT_LEN:
        if (!wire_varint(w, position, &value))
            return 0;
        *delimited = 1;
        *start = *position;
        *end = *position + value;
        *position = *end;
        return 1;
    case WT_VARINT:
        return wire_varint(w, position, &value);
    case WT_I64:
        *position += 8;
        return 1;
    case WT_I32:
        *position += 4;
        return 1;
    default:
        return 0;
    }
}

/* Spans (field 2) in one ScopeSpans: -1 when they cannot all be read, else the count, early past `stop`. */
static long long wire_count_spans(const Wire *w, Position position, Position end, long long stop) {
    long long count = 0;
    Position number, start, stop_at;
    int delimited;
    while (position < end) {
        if (!wire_field(w, &position, &number, &delimited, &start, &stop_at))
            return -1;
        if (delimited && number == 2 && ++count > stop)
            return count;
    }
    return position == end ? count : -1;
}

static PyObject *count_messages(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"raw", "stop", NULL};
    Py_buffer raw;
    long long stop, containers = 0, spans = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*L:count_messages", keywords, &raw, &stop))
        return NULL;
    Wire w = {raw.buf, (Position)raw.len};
    Position position = 0, number, rs_start, rs_end, ss_start, ss_end;
    int delimited;
    while (position < w.size) {
        if (!wire_field(&w, &position, &number, &delimited, &rs_start, &rs_end))
            goto done;
        if (!delimited || number != 1)
            continue;
        containers++;
        Position inner = rs_start;
        while (inner < rs_end) {
            if (!wire_field(&w, &inner, &number, &delimited, &ss_start, &ss_end))
                goto done;
            if (!delimited || number != 2)
                continue;
            containers++;
            long long counted = wire_count_spans(&w, ss_start, ss_end, stop - spans);
            if (counted < 0)
                goto done;
            spans += counted;
            if (spans > stop || containers > stop)
                goto done;
        }
        if (inner != rs_end || containers > stop)
            goto done;
    }
done:
    PyBuffer_Release(&raw);
    return Py_BuildValue("LL", containers, spans);
}

static PyMethodDef methods[] = {
    {"span_columns", span_columns, METH_VARARGS,
     "span_columns(raw, ids, intern) -> (trace_id, span_id, parent_id, name, kind, start, end, status, "
     "scope, attribute_ids, event_names) lists, or None when the request is not the common case.\n\n"
     "`ids` maps a KeyValue's wire bytes to its attribute id; `intern(raw)` gives the id of one it lacks."},
    {"count_messages", (PyCFunction)(void (*)(void))count_messages, METH_VARARGS | METH_KEYWORDS,
     "count_messages(raw, stop) -> (ResourceSpans + ScopeSpans, spans): kubespan.otlp.wire.count_messages in C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_spanwalk",
    "Span columns read straight off the OTLP wire, for the common case of the edge decoder.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__spanwalk(void) { return PyModule_Create(&module); }
