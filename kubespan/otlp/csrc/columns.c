/* span_columns: the edge decoder's span columns, read straight off the wire.

   Walks an ExportTraceServiceRequest that upb has already parsed (so validated:
   UTF-8, nesting, wire types of official messages) and returns the columns
   `kubespan.otlp.decode` reads with protobuf's per-field accessors, at a fraction of
   their cost. It answers None for a span with an invalid id, an attribute the intern
   callback refuses, a known field with an unexpected wire type, a group, anything
   that does not parse; the Python decoder then decides, rejections included.
*/
#include "wire.h"
#include "bytes_cache.h"

/* The columns under construction, in kubespan.model.SPAN_COLUMNS order; every member is a new list. */
#define COLUMN_MEMBER(name) PyObject *name;
typedef struct {
    SPAN_COLUMNS(COLUMN_MEMBER)
} Columns;
#undef COLUMN_MEMBER

#define COLUMN_COUNT SPAN_COLUMN_COUNT

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

/* Event.name, "" when absent. */
static int event_name(Slice event, Slice *name) {
    Cursor c = {event.p, event.p + event.n};
    uint32_t number;
    int wire_type, ok;
    name->p = NULL;
    name->n = 0;
    while (next_field(&c, &number, &wire_type, &ok)) {
        if (number == EVENT_NAME) {
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

/* Append the events' names of one span as a tuple. */
static int append_event_names(Columns *out, PyObject *names) {
    PyObject *tuple = PyList_AsTuple(names);
    return append_new(out->event_names, tuple);
}

static int read_span(Slice span, long scope, Columns *out, PyObject *ids) {
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
        case SPAN_TRACE_ID: case SPAN_SPAN_ID: case SPAN_PARENT_SPAN_ID: case SPAN_NAME: case SPAN_ATTRIBUTES:
        case SPAN_EVENTS: case SPAN_STATUS:
            if (wire_type != WT_LEN || !read_slice(&c, &slice))
                goto unusual;
            if (number == SPAN_TRACE_ID) trace_id = slice;
            else if (number == SPAN_SPAN_ID) span_id = slice;
            else if (number == SPAN_PARENT_SPAN_ID) parent_id = slice;
            else if (number == SPAN_NAME) name = slice;
            else if (number == SPAN_STATUS) {
                Slice message = {NULL, 0};
                if (!read_status(slice, &message, &code))
                    goto unusual;
            } else if (number == SPAN_ATTRIBUTES) {
                if (!append_new(attributes, bytes_cache_get(ids, slice)))
                    goto error;
            } else {
                Slice event;
                if (!event_name(slice, &event))
                    goto unusual;
                if (!append_new(events, text_of(event)))
                    goto failed;
            }
            break;
        case SPAN_KIND:
            if (wire_type != WT_VARINT || !read_varint(&c, &kind))
                goto unusual;
            break;
        case SPAN_START_TIME_UNIX_NANO: case SPAN_END_TIME_UNIX_NANO:
            if (wire_type != WT_I64 || !read_fixed64(&c, number == SPAN_START_TIME_UNIX_NANO ? &start : &end))
                goto unusual;
            break;
        default:  /* trace state, the dropped counts, links, flags and unknown fields */
            if (!skip_field(&c, wire_type))
                goto unusual;
        }
    }
    if (!ok || trace_id.n != TRACE_ID_BYTES || all_zero(trace_id) || span_id.n != SPAN_ID_BYTES
        || all_zero(span_id) || (parent_id.n != 0 && parent_id.n != SPAN_ID_BYTES))
        goto unusual;
    if (!append_new(out->trace_id, bytes_of(trace_id)) || !append_new(out->span_id, bytes_of(span_id))
        || !append_new(out->parent_id, bytes_of(parent_id))
        || !append_new(out->name, text_of(name))
        || !append_new(out->kind, PyLong_FromLong((int32_t)kind))
        || !append_new(out->start, PyLong_FromUnsignedLongLong(start))
        || !append_new(out->end, PyLong_FromUnsignedLongLong(end))
        || !append_new(out->status, PyLong_FromLongLong(code))
        || !append_new(out->scope, PyLong_FromLong(scope))
        || PyList_Append(out->attribute_ids, attributes) != 0
        || !append_event_names(out, events))
        goto failed;
    Py_DECREF(attributes);
    Py_DECREF(events);
    return WALK_OK;
failed:
    if (PyErr_Occurred())
        goto error;
unusual:
    Py_XDECREF(attributes);
    Py_XDECREF(events);
    return WALK_UNUSUAL;
error:
    Py_XDECREF(attributes);
    Py_XDECREF(events);
    return WALK_ERROR;
}

typedef struct {
    Columns *columns;
    PyObject *ids;
} ColumnsWalk;

static int column_span(void *context, long scope, Slice span) {
    ColumnsWalk *walk = context;
    return read_span(span, scope, walk->columns, walk->ids);
}

static const SpanVisit COLUMNS_VISIT = {NULL, column_span};

PyObject *span_columns(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer raw;
    PyObject *ids;
    if (!PyArg_ParseTuple(args, "y*O!:span_columns", &raw, &BytesCacheType, &ids))
        return NULL;
    Columns columns = {0};
    PyObject *result = NULL;
    int walked = WALK_ERROR;
    if (columns_init(&columns)) {
        Slice request = {raw.buf, raw.len};
        ColumnsWalk walk = {&columns, ids};
        walked = walk_spans(request, &COLUMNS_VISIT, &walk);
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
