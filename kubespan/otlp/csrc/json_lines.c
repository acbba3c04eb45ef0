/* span_json_lines: kubespan's one-span-per-line OTLP/JSON, as kubespan.encode.span_lines writes it.

   Each line is prefix + span + suffix + "\n", the prefix and suffix (resource and scope)
   made in Python per ScopeSpans. Attributes come from the caller's cache of each
   KeyValue's JSON; everything else of a span is written here, field for field as
   `kubespan.encode.otlp_json.span_json` does. Anything unusual answers None and the
   Python encoder writes it. */
#include "json_buffer.h"
#include "bytes_cache.h"
#include "key_value.h"

/* Field separators of one JSON object being written. */
typedef struct {
    Buffer *b;
    int fields;
} Object;

static void key(Object *o, const char *name) {
    if (o->fields++)
        PUT_LITERAL(o->b, ",");
    PUT_LITERAL(o->b, "\"");
    buf_put(o->b, name, strlen(name));
    PUT_LITERAL(o->b, "\":");
}

/* Up to this many of one repeated field are kept in place; more send the span to Python. */
#define MAX_REPEATED 256

typedef struct {
    Slice items[MAX_REPEATED];
    int n;
} Repeated;

static int keep(Repeated *r, Slice s) {
    if (r->n == MAX_REPEATED)
        return 0;
    r->items[r->n++] = s;
    return 1;
}

/* A string, int or bool attribute, written as kubespan.encode.span_lines.attribute_json writes it:
   1, or 0 (nothing written) for any other value, which the cache's miss encodes. Values seen
   once (ids, URLs) so cost no Python call. */
static int put_scalar_attribute(Buffer *b, Slice raw) {
    ScalarKV kv;
    if (!parse_scalar_kv(raw, &kv) || (kv.field != AV_STRING && kv.field != AV_INT && kv.field != AV_BOOL))
        return 0;
    size_t mark = b->size;
    if (kv.key.n) {
        PUT_LITERAL(b, "{\"key\":");
        if (!buf_quote(b, kv.key))
            goto other;
        PUT_LITERAL(b, ",\"value\":");
    } else {
        PUT_LITERAL(b, "{\"value\":");
    }
    if (kv.field == AV_STRING) {
        PUT_LITERAL(b, "{\"stringValue\":");
        if (!buf_quote(b, kv.text))
            goto other;
        PUT_LITERAL(b, "}}");
    } else if (kv.field == AV_INT) {
        PUT_LITERAL(b, "{\"intValue\":\"");
        buf_i64(b, (int64_t)kv.bits);
        PUT_LITERAL(b, "\"}}");
    } else if (kv.bits) {
        PUT_LITERAL(b, "{\"boolValue\":true}}");
    } else {
        PUT_LITERAL(b, "{\"boolValue\":false}}");
    }
    return 1;
other:
    b->size = mark;
    return 0;
}

/* The JSON of each attribute: written here (scalars) or from the cache (its miss encodes new ones). */
static int put_attributes(Object *o, const char *name, const Repeated *attributes, PyObject *cache) {
    if (!attributes->n)
        return 1;
    key(o, name);
    PUT_LITERAL(o->b, "[");
    for (int i = 0; i < attributes->n; i++) {
        if (i)
            PUT_LITERAL(o->b, ",");
        if (put_scalar_attribute(o->b, attributes->items[i]))
            continue;
        PyObject *text = bytes_cache_get(cache, attributes->items[i]);
        if (text == NULL)
            return -1;
        Py_ssize_t n;
        const char *utf8 = PyUnicode_Check(text) ? PyUnicode_AsUTF8AndSize(text, &n) : NULL;
        if (utf8 == NULL) {
            Py_DECREF(text);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "attribute JSON must be str");
            return -1;
        }
        buf_put(o->b, utf8, (size_t)n);
        Py_DECREF(text);
    }
    PUT_LITERAL(o->b, "]");
    return 1;
}

/* A hex id between quotes. */
static void put_id(Object *o, const char *name, Slice id) {
    key(o, name);
    PUT_LITERAL(o->b, "\"");
    buf_hex(o->b, id);
    PUT_LITERAL(o->b, "\"");
}

/* A 64-bit count between quotes, as OTLP/JSON writes fixed64 and uint64. */
static void put_u64_text(Object *o, const char *name, uint64_t value) {
    key(o, name);
    PUT_LITERAL(o->b, "\"");
    buf_u64(o->b, value);
    PUT_LITERAL(o->b, "\"");
}

/* The ids and trace state a span and a link both begin with; 0 when the trace state is not UTF-8. */
static int put_ids(Object *o, Slice trace_id, Slice span_id, Slice trace_state) {
    if (trace_id.n) put_id(o, "traceId", trace_id);
    if (span_id.n) put_id(o, "spanId", span_id);
    if (trace_state.n) { key(o, "traceState"); if (!buf_quote(o->b, trace_state)) return 0; }
    return 1;
}

/* `attributes` is scratch space of the caller's, reused from one event or link to the next. */
static int put_event(Buffer *b, Slice event, PyObject *cache, Repeated *attributes) {
    Slice name = {NULL, 0};
    uint64_t time = 0, dropped = 0;
    attributes->n = 0;
    {
        FIELDS_OF(event) {
            switch (number) {
            case EVENT_TIME_UNIX_NANO: FIELD_FIXED64(time); break;
            case EVENT_NAME: FIELD_LEN(name); break;
            case EVENT_ATTRIBUTES: FIELD_REPEATED(*attributes); break;
            case EVENT_DROPPED_ATTRIBUTES_COUNT: FIELD_VARINT(dropped); break;
            default: FIELD_SKIP();
            }
        }
        FIELDS_END();
    }
    Object o = {b, 0};
    PUT_LITERAL(b, "{");
    if (time) put_u64_text(&o, "timeUnixNano", time);
    if (name.n) { key(&o, "name"); if (!buf_quote(b, name)) return WALK_UNUSUAL; }
    if (put_attributes(&o, "attributes", attributes, cache) < 0) return WALK_ERROR;
    if ((uint32_t)dropped) { key(&o, "droppedAttributesCount"); buf_u64(b, (uint32_t)dropped); }
    PUT_LITERAL(b, "}");
    return WALK_OK;
}

static int put_link(Buffer *b, Slice link, PyObject *cache, Repeated *attributes) {
    Slice trace_id = {NULL, 0}, span_id = {NULL, 0}, trace_state = {NULL, 0};
    uint64_t dropped = 0;
    uint32_t flags = 0;
    attributes->n = 0;
    {
        FIELDS_OF(link) {
            switch (number) {
            case LINK_TRACE_ID: FIELD_LEN(trace_id); break;
            case LINK_SPAN_ID: FIELD_LEN(span_id); break;
            case LINK_TRACE_STATE: FIELD_LEN(trace_state); break;
            case LINK_ATTRIBUTES: FIELD_REPEATED(*attributes); break;
            case LINK_DROPPED_ATTRIBUTES_COUNT: FIELD_VARINT(dropped); break;
            case LINK_FLAGS: FIELD_FIXED32(flags); break;
            default: FIELD_SKIP();
            }
        }
        FIELDS_END();
    }
    Object o = {b, 0};
    PUT_LITERAL(b, "{");
    if (!put_ids(&o, trace_id, span_id, trace_state)) return WALK_UNUSUAL;
    if (put_attributes(&o, "attributes", attributes, cache) < 0) return WALK_ERROR;
    if ((uint32_t)dropped) { key(&o, "droppedAttributesCount"); buf_u64(b, (uint32_t)dropped); }
    if (flags) { key(&o, "flags"); buf_u64(b, flags); }
    PUT_LITERAL(b, "}");
    return WALK_OK;
}

/* The repeated parts of one span, and the attributes of one of its events or links, kept on the
   heap (they are large) and reused from one span to the next. */
typedef struct {
    Repeated attributes, events, links, nested;
} SpanLists;

/* The events or the links of a span, then their dropped count. */
static int put_group(Object *o, SpanLists *lists, int links, uint64_t dropped, PyObject *cache) {
    const Repeated *group = links ? &lists->links : &lists->events;
    if (group->n) {
        key(o, links ? "links" : "events");
        PUT_LITERAL(o->b, "[");
        for (int i = 0; i < group->n; i++) {
            if (i)
                PUT_LITERAL(o->b, ",");
            int put = links ? put_link(o->b, group->items[i], cache, &lists->nested)
                            : put_event(o->b, group->items[i], cache, &lists->nested);
            if (put != WALK_OK)
                return put;
        }
        PUT_LITERAL(o->b, "]");
    }
    if ((uint32_t)dropped) {
        key(o, links ? "droppedLinksCount" : "droppedEventsCount");
        buf_u64(o->b, (uint32_t)dropped);
    }
    return WALK_OK;
}

static int put_span(Buffer *b, Slice span, PyObject *cache, SpanLists *lists) {
    Slice trace_id = {NULL, 0}, span_id = {NULL, 0}, trace_state = {NULL, 0}, parent_id = {NULL, 0};
    Slice name = {NULL, 0}, message = {NULL, 0};
    uint64_t kind = 0, start = 0, end = 0, dropped_attributes = 0, dropped_events = 0, dropped_links = 0;
    uint32_t flags = 0;
    int64_t code = 0;
    lists->attributes.n = lists->events.n = lists->links.n = 0;
    {
        FIELDS_OF(span) {
            Slice item;
            switch (number) {
            case SPAN_TRACE_ID: FIELD_LEN(trace_id); break;
            case SPAN_SPAN_ID: FIELD_LEN(span_id); break;
            case SPAN_TRACE_STATE: FIELD_LEN(trace_state); break;
            case SPAN_PARENT_SPAN_ID: FIELD_LEN(parent_id); break;
            case SPAN_NAME: FIELD_LEN(name); break;
            case SPAN_KIND: FIELD_VARINT(kind); break;
            case SPAN_START_TIME_UNIX_NANO: FIELD_FIXED64(start); break;
            case SPAN_END_TIME_UNIX_NANO: FIELD_FIXED64(end); break;
            case SPAN_ATTRIBUTES: FIELD_REPEATED(lists->attributes); break;
            case SPAN_DROPPED_ATTRIBUTES_COUNT: FIELD_VARINT(dropped_attributes); break;
            case SPAN_EVENTS: FIELD_REPEATED(lists->events); break;
            case SPAN_DROPPED_EVENTS_COUNT: FIELD_VARINT(dropped_events); break;
            case SPAN_LINKS: FIELD_REPEATED(lists->links); break;
            case SPAN_DROPPED_LINKS_COUNT: FIELD_VARINT(dropped_links); break;
            case SPAN_STATUS:
                FIELD_LEN(item);
                if (!read_status(item, &message, &code))
                    return WALK_UNUSUAL;
                break;
            case SPAN_FLAGS: FIELD_FIXED32(flags); break;
            default: FIELD_SKIP();
            }
        }
        FIELDS_END();
    }
    Object o = {b, 0};
    PUT_LITERAL(b, "{");
    if (!put_ids(&o, trace_id, span_id, trace_state)) return WALK_UNUSUAL;
    if (parent_id.n) put_id(&o, "parentSpanId", parent_id);
    if (flags) { key(&o, "flags"); buf_u64(b, flags); }
    if (name.n) { key(&o, "name"); if (!buf_quote(b, name)) return WALK_UNUSUAL; }
    if ((int32_t)kind) { key(&o, "kind"); buf_i64(b, (int32_t)kind); }
    if (start) put_u64_text(&o, "startTimeUnixNano", start);
    if (end) put_u64_text(&o, "endTimeUnixNano", end);
    if (put_attributes(&o, "attributes", &lists->attributes, cache) < 0)
        return WALK_ERROR;
    if ((uint32_t)dropped_attributes) { key(&o, "droppedAttributesCount"); buf_u64(b, (uint32_t)dropped_attributes); }
    int put = put_group(&o, lists, 0, dropped_events, cache);
    if (put == WALK_OK)
        put = put_group(&o, lists, 1, dropped_links, cache);
    if (put != WALK_OK)
        return put;
    key(&o, "status");
    Object status = {b, 0};
    PUT_LITERAL(b, "{");
    if (message.n) { key(&status, "message"); if (!buf_quote(b, message)) return WALK_UNUSUAL; }
    if (code) { key(&status, "code"); buf_i64(b, code); }
    PUT_LITERAL(b, "}}");
    return WALK_OK;
}

typedef struct {
    Buffer blob;
    PyObject *ends, *cache, *affixes;
    SpanLists *lists;
    const char *prefix, *suffix;  /* of the ScopeSpans being walked */
    Py_ssize_t prefix_n, suffix_n;
} Lines;

/* Take the (prefix, suffix) of the next ScopeSpans, made in Python. */
static int lines_scope_begins(void *context, long scope) {
    Lines *lines = context;
    if (scope >= PyList_GET_SIZE(lines->affixes))
        return WALK_UNUSUAL;
    PyObject *affix = PyList_GET_ITEM(lines->affixes, scope);
    char *prefix, *suffix;
    if (!PyTuple_Check(affix) || PyTuple_GET_SIZE(affix) != 2
        || PyBytes_AsStringAndSize(PyTuple_GET_ITEM(affix, 0), &prefix, &lines->prefix_n) < 0
        || PyBytes_AsStringAndSize(PyTuple_GET_ITEM(affix, 1), &suffix, &lines->suffix_n) < 0)
        return PyErr_Occurred() ? WALK_ERROR : WALK_UNUSUAL;
    lines->prefix = prefix;
    lines->suffix = suffix;
    return WALK_OK;
}

static int lines_span(void *context, long Py_UNUSED(scope), Slice span) {
    Lines *lines = context;
    buf_put(&lines->blob, lines->prefix, (size_t)lines->prefix_n);
    int put = put_span(&lines->blob, span, lines->cache, lines->lists);
    if (put != WALK_OK)
        return put;
    buf_put(&lines->blob, lines->suffix, (size_t)lines->suffix_n);
    PUT_LITERAL(&lines->blob, "\n");
    if (lines->blob.failed) {
        PyErr_NoMemory();
        return WALK_ERROR;
    }
    return append_new(lines->ends, PyLong_FromSize_t(lines->blob.size)) ? WALK_OK : WALK_ERROR;
}

static const SpanVisit LINES_VISIT = {lines_scope_begins, lines_span};

PyObject *span_json_lines(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer raw;
    Lines lines = {{NULL, 0, 0, 0}, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0};
    if (!PyArg_ParseTuple(args, "y*O!O!:span_json_lines", &raw, &BytesCacheType, &lines.cache, &PyList_Type,
                          &lines.affixes))
        return NULL;
    PyObject *result = NULL;
    lines.ends = PyList_New(0);
    lines.lists = PyMem_Malloc(sizeof(SpanLists));
    int walked = WALK_ERROR;
    if (lines.ends != NULL && lines.lists != NULL) {
        Slice request = {raw.buf, raw.len};
        walked = walk_spans(request, &LINES_VISIT, &lines);
    } else if (lines.lists == NULL) {
        PyErr_NoMemory();
    }
    if (walked == WALK_OK) {
        PyObject *blob = PyBytes_FromStringAndSize(lines.blob.data ? lines.blob.data : "", (Py_ssize_t)lines.blob.size);
        if (blob != NULL)
            result = PyTuple_Pack(2, blob, lines.ends);
        Py_XDECREF(blob);
    } else if (walked == WALK_UNUSUAL) {
        result = Py_NewRef(Py_None);
    }
    Py_XDECREF(lines.ends);
    PyMem_Free(lines.lists);
    PyMem_Free(lines.blob.data);
    PyBuffer_Release(&raw);
    return result;
}
