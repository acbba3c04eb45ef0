/* span_arrays: the edge decoder's span columns, read straight off the wire into packed arrays.

   Walks an ExportTraceServiceRequest that upb has already parsed (so validated: UTF-8, nesting,
   wire types of official messages) and returns each column as one bytes object (ids end to
   end, int32 and uint64 arrays), so a batch of spans costs a few objects, not a dozen per
   span. It answers None for a span with an invalid id, a known field with an unexpected wire
   type, a group, anything that does not parse; an attribute the store refuses raises its error.
   The Python decoder then decides, rejections included (kubespan.otlp.decode).
*/
#include "json_buffer.h"
#include "attr_store.h"
#include "slice_set.h"

typedef struct {
    Buffer b[PACKED_COUNT];
    SliceSet names, events;
    PyObject *store;
    int32_t attributes, event_count;  /* slots written so far */
    Py_ssize_t n;
} Arrays;

#define PUT_VALUE(buffer, type, value) do { type v_ = (type)(value); buf_put(&(buffer), &v_, sizeof v_); } while (0)

static void arrays_free(Arrays *a) {
    for (int i = 0; i < PACKED_COUNT; i++)
        PyMem_Free(a->b[i].data);
    slice_set_free(&a->names);
    slice_set_free(&a->events);
}

static int all_zero(Slice s) {
    for (Py_ssize_t i = 0; i < s.n; i++)
        if (s.p[i])
            return 0;
    return 1;
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

static int read_span(Arrays *a, long scope, Slice span) {
    Cursor c = {span.p, span.p + span.n};
    Slice trace_id = {NULL, 0}, span_id = {NULL, 0}, parent_id = {NULL, 0}, name = {NULL, 0}, slice;
    uint64_t kind = 0, start = 0, end = 0;
    int64_t code = 0;
    uint32_t number;
    int wire_type, ok, added;
    size_t attributes_before = a->b[PACKED_ATTRIBUTE_IDS].size, events_before = a->b[PACKED_EVENT_NAMES].size;
    while (next_field(&c, &number, &wire_type, &ok)) {
        switch (number) {
        case SPAN_TRACE_ID: case SPAN_SPAN_ID: case SPAN_PARENT_SPAN_ID: case SPAN_NAME: case SPAN_ATTRIBUTES:
        case SPAN_EVENTS: case SPAN_STATUS:
            if (wire_type != WT_LEN || !read_slice(&c, &slice))
                return WALK_UNUSUAL;
            if (number == SPAN_TRACE_ID) trace_id = slice;
            else if (number == SPAN_SPAN_ID) span_id = slice;
            else if (number == SPAN_PARENT_SPAN_ID) parent_id = slice;
            else if (number == SPAN_NAME) name = slice;
            else if (number == SPAN_STATUS) {
                Slice message = {NULL, 0};
                if (!read_status(slice, &message, &code))
                    return WALK_UNUSUAL;
            } else if (number == SPAN_ATTRIBUTES) {
                Py_ssize_t id = attr_store_intern(a->store, slice);
                if (id < 0)
                    return WALK_ERROR;
                PUT_VALUE(a->b[PACKED_ATTRIBUTE_IDS], int32_t, id);
            } else {
                Slice event;
                if (!event_name(slice, &event))
                    return WALK_UNUSUAL;
                Py_ssize_t id = slice_set_add(&a->events, event, &added);
                if (id < 0)
                    return WALK_ERROR;
                PUT_VALUE(a->b[PACKED_EVENT_NAMES], int32_t, id);
            }
            break;
        case SPAN_KIND:
            if (wire_type != WT_VARINT || !read_varint(&c, &kind))
                return WALK_UNUSUAL;
            break;
        case SPAN_START_TIME_UNIX_NANO: case SPAN_END_TIME_UNIX_NANO:
            if (wire_type != WT_I64 || !read_fixed64(&c, number == SPAN_START_TIME_UNIX_NANO ? &start : &end))
                return WALK_UNUSUAL;
            break;
        default:  /* trace state, the dropped counts, links, flags and unknown fields */
            if (!skip_field(&c, wire_type))
                return WALK_UNUSUAL;
        }
    }
    if (!ok || trace_id.n != TRACE_ID_BYTES || all_zero(trace_id) || span_id.n != SPAN_ID_BYTES
        || all_zero(span_id) || (parent_id.n != 0 && parent_id.n != SPAN_ID_BYTES))
        return WALK_UNUSUAL;
    Py_ssize_t name_id = slice_set_add(&a->names, name, &added);
    if (name_id < 0)
        return WALK_ERROR;
    static const uint8_t no_parent[SPAN_ID_BYTES] = {0};
    buf_put(&a->b[PACKED_TRACE_ID], trace_id.p, TRACE_ID_BYTES);
    buf_put(&a->b[PACKED_SPAN_ID], span_id.p, SPAN_ID_BYTES);
    buf_put(&a->b[PACKED_PARENT_ID], parent_id.n ? parent_id.p : no_parent, SPAN_ID_BYTES);
    PUT_VALUE(a->b[PACKED_PARENT_SET], uint8_t, parent_id.n != 0);
    PUT_VALUE(a->b[PACKED_NAME], int32_t, name_id);
    PUT_VALUE(a->b[PACKED_KIND], int32_t, (int32_t)kind);
    PUT_VALUE(a->b[PACKED_START], uint64_t, start);
    PUT_VALUE(a->b[PACKED_END], uint64_t, end);
    PUT_VALUE(a->b[PACKED_STATUS], int32_t, (int32_t)code);
    PUT_VALUE(a->b[PACKED_SCOPE], int32_t, scope);
    a->attributes += (int32_t)((a->b[PACKED_ATTRIBUTE_IDS].size - attributes_before) / sizeof(int32_t));
    a->event_count += (int32_t)((a->b[PACKED_EVENT_NAMES].size - events_before) / sizeof(int32_t));
    PUT_VALUE(a->b[PACKED_ATTRIBUTE_OFFSETS], int32_t, a->attributes);
    PUT_VALUE(a->b[PACKED_EVENT_OFFSETS], int32_t, a->event_count);
    a->n++;
    return WALK_OK;
}

static int arrays_span(void *context, long scope, Slice span) {
    Arrays *a = context;
    int read = read_span(a, scope, span);
    for (int i = 0; read == WALK_OK && i < PACKED_COUNT; i++) {
        if (a->b[i].failed) {
            PyErr_NoMemory();
            return WALK_ERROR;
        }
    }
    return read;
}

static const SpanVisit ARRAYS_VISIT = {NULL, arrays_span};

/* The distinct texts of a SliceSet as a list of str; NULL with no error set when one is not UTF-8. */
static PyObject *texts_of(const SliceSet *set) {
    PyObject *out = PyList_New(set->n);
    for (Py_ssize_t i = 0; out != NULL && i < set->n; i++) {
        PyObject *text = text_of(slice_set_get(set, i));
        if (text == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, text);
    }
    return out;
}

PyObject *span_arrays(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer raw;
    PyObject *store;
    if (!PyArg_ParseTuple(args, "y*O!:span_arrays", &raw, &AttributeStoreType, &store))
        return NULL;
    Arrays a;
    memset(&a, 0, sizeof a);
    a.store = store;
    PUT_VALUE(a.b[PACKED_ATTRIBUTE_OFFSETS], int32_t, 0);
    PUT_VALUE(a.b[PACKED_EVENT_OFFSETS], int32_t, 0);
    Slice request = {raw.buf, raw.len};
    int walked = walk_spans(request, &ARRAYS_VISIT, &a);
    PyObject *result = NULL;
    if (walked == WALK_OK) {
        PyObject *names = texts_of(&a.names), *events = names == NULL ? NULL : texts_of(&a.events);
        if (events == NULL) {
            walked = PyErr_Occurred() ? WALK_ERROR : WALK_UNUSUAL;
        } else {
            int count = PACKED_COUNT;
            Buffer *buffers = a.b;
            result = PyTuple_New(count + 3);
            for (int i = 0; result != NULL && i < count; i++) {
                PyObject *bytes = PyBytes_FromStringAndSize(buffers[i].data ? buffers[i].data : "",
                                                            (Py_ssize_t)buffers[i].size);
                if (bytes == NULL)
                    Py_CLEAR(result);
                else
                    PyTuple_SET_ITEM(result, i + 1, bytes);
            }
            PyObject *n = result == NULL ? NULL : PyLong_FromSsize_t(a.n);
            if (n == NULL) {
                Py_CLEAR(result);
            } else {
                PyTuple_SET_ITEM(result, 0, n);
                PyTuple_SET_ITEM(result, count + 1, Py_NewRef(names));
                PyTuple_SET_ITEM(result, count + 2, Py_NewRef(events));
            }
        }
        Py_XDECREF(names);
        Py_XDECREF(events);
    }
    if (walked == WALK_UNUSUAL)
        result = Py_NewRef(Py_None);
    arrays_free(&a);
    PyBuffer_Release(&raw);
    return result;
}
