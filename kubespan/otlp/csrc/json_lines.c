#include "wire.h"
#include "bytes_cache.h"

/* ---- span_json_lines: kubespan's one-span-per-line OTLP/JSON, as jsoncodec/encoder.py writes it.

   Each line is prefix + span + suffix + "\n", the prefix and suffix (resource and scope)
   made in Python per ScopeSpans. Attributes come from the caller's cache of each
   KeyValue's JSON; everything else of a span is written here, field for field as
   `_span_json` does. Anything unusual answers None and the Python encoder writes it. */

typedef struct {
    char *data;
    size_t size, capacity;
    int failed;
} Buffer;

static void buf_reserve(Buffer *b, size_t extra) {
    if (b->failed || b->size + extra <= b->capacity)
        return;
    size_t capacity = b->capacity ? b->capacity : 4096;
    while (capacity < b->size + extra)
        capacity *= 2;
    char *data = PyMem_Realloc(b->data, capacity);
    if (data == NULL) {
        b->failed = 1;
        return;
    }
    b->data = data;
    b->capacity = capacity;
}

static void buf_put(Buffer *b, const void *data, size_t n) {
    buf_reserve(b, n);
    if (!b->failed) {
        memcpy(b->data + b->size, data, n);
        b->size += n;
    }
}

#define PUT_LITERAL(b, text) buf_put((b), (text), sizeof(text) - 1)

static void buf_u64(Buffer *b, uint64_t value) {
    char digits[24];
    int n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    buf_put(b, digits + sizeof digits - n, (size_t)n);
}

static void buf_i64(Buffer *b, int64_t value) {
    if (value < 0) {
        PUT_LITERAL(b, "-");
        buf_u64(b, (uint64_t)0 - (uint64_t)value);
    } else {
        buf_u64(b, (uint64_t)value);
    }
}

static void buf_hex(Buffer *b, Slice s) {
    static const char digits[] = "0123456789abcdef";
    buf_reserve(b, 2 * (size_t)s.n);
    if (b->failed)
        return;
    for (Py_ssize_t i = 0; i < s.n; i++) {
        b->data[b->size++] = digits[s.p[i] >> 4];
        b->data[b->size++] = digits[s.p[i] & 15];
    }
}

static void buf_unicode_escape(Buffer *b, uint32_t codepoint) {
    static const char digits[] = "0123456789abcdef";
    char text[6] = {'\\', 'u', digits[codepoint >> 12 & 15], digits[codepoint >> 8 & 15],
                    digits[codepoint >> 4 & 15], digits[codepoint & 15]};
    buf_put(b, text, 6);
}

/* What encoder.quote escapes beyond JSON's own: characters that act on a terminal. */
static int acts_on_terminal(uint32_t c) {
    return (c >= 0x7F && c <= 0x9F) || c == 0x061C || (c >= 0x200B && c <= 0x200F)
        || (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF;
}

/* The length of the UTF-8 sequence at p and its code point; 0 if it is not valid UTF-8. */
static int utf8_sequence(const uint8_t *p, const uint8_t *end, uint32_t *codepoint) {
    uint8_t lead = p[0];
    int n;
    uint32_t c, least;
    if (lead >= 0xC2 && lead <= 0xDF) { n = 2; c = lead & 0x1F; least = 0x80; }
    else if (lead >= 0xE0 && lead <= 0xEF) { n = 3; c = lead & 0x0F; least = 0x800; }
    else if (lead >= 0xF0 && lead <= 0xF4) { n = 4; c = lead & 0x07; least = 0x10000; }
    else return 0;
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < least || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *codepoint = c;
    return n;
}

/* A JSON string of UTF-8 text, as encoder.quote writes it; 0 if the text is not UTF-8. */
static int buf_quote(Buffer *b, Slice s) {
    const uint8_t *p = s.p ? s.p : (const uint8_t *)"", *end = p + s.n;
    PUT_LITERAL(b, "\"");
    while (p < end) {
        const uint8_t *run = p;
        while (p < end && *p >= 0x20 && *p < 0x7F && *p != '"' && *p != '\\')
            p++;
        buf_put(b, run, (size_t)(p - run));
        if (p == end)
            break;
        uint8_t c = *p;
        if (c < 0x80) {
            p++;
            switch (c) {
            case '"': PUT_LITERAL(b, "\\\""); break;
            case '\\': PUT_LITERAL(b, "\\\\"); break;
            case '\n': PUT_LITERAL(b, "\\n"); break;
            case '\r': PUT_LITERAL(b, "\\r"); break;
            case '\t': PUT_LITERAL(b, "\\t"); break;
            case '\b': PUT_LITERAL(b, "\\b"); break;
            case '\f': PUT_LITERAL(b, "\\f"); break;
            default: buf_unicode_escape(b, c);
            }
            continue;
        }
        uint32_t codepoint;
        int n = utf8_sequence(p, end, &codepoint);
        if (!n)
            return 0;
        if (acts_on_terminal(codepoint))
            buf_unicode_escape(b, codepoint);
        else
            buf_put(b, p, (size_t)n);
        p += n;
    }
    PUT_LITERAL(b, "\"");
    return 1;
}

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

/* The JSON of each attribute, from the cache (its miss encodes new ones). */
static int put_attributes(Object *o, const char *name, const Repeated *attributes, PyObject *cache) {
    if (!attributes->n)
        return 1;
    key(o, name);
    PUT_LITERAL(o->b, "[");
    for (int i = 0; i < attributes->n; i++) {
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
        if (i)
            PUT_LITERAL(o->b, ",");
        buf_put(o->b, utf8, (size_t)n);
        Py_DECREF(text);
    }
    PUT_LITERAL(o->b, "]");
    return 1;
}

static int put_event(Buffer *b, Slice event, PyObject *cache) {
    Slice name = {NULL, 0};
    uint64_t time = 0, dropped = 0;
    Repeated *attributes = PyMem_Malloc(sizeof(Repeated));
    if (attributes == NULL)
        return WALK_ERROR;
    attributes->n = 0;
    int result = WALK_UNUSUAL;
    {
        Cursor c = {event.p, event.p + event.n};
        uint32_t number;
        int wire_type, ok;
        while (next_field(&c, &number, &wire_type, &ok)) {
            Slice item;
            if (number == 1) {
                if (wire_type != WT_I64 || !read_fixed64(&c, &time)) goto done;
            } else if (number == 2) {
                if (wire_type != WT_LEN || !read_slice(&c, &name)) goto done;
            } else if (number == 3) {
                if (wire_type != WT_LEN || !read_slice(&c, &item) || !keep(attributes, item)) goto done;
            } else if (number == 4) {
                if (wire_type != WT_VARINT || !read_varint(&c, &dropped)) goto done;
            } else if (!skip_field(&c, wire_type)) {
                goto done;
            }
        }
        if (!ok)
            goto done;
    }
    Object o = {b, 0};
    PUT_LITERAL(b, "{");
    if (time) { key(&o, "timeUnixNano"); PUT_LITERAL(b, "\""); buf_u64(b, time); PUT_LITERAL(b, "\""); }
    if (name.n) { key(&o, "name"); if (!buf_quote(b, name)) goto done; }
    if (put_attributes(&o, "attributes", attributes, cache) < 0) { result = WALK_ERROR; goto done; }
    if ((uint32_t)dropped) { key(&o, "droppedAttributesCount"); buf_u64(b, (uint32_t)dropped); }
    PUT_LITERAL(b, "}");
    result = WALK_OK;
done:
    PyMem_Free(attributes);
    return result;
}

static int put_link(Buffer *b, Slice link, PyObject *cache) {
    Slice trace_id = {NULL, 0}, span_id = {NULL, 0}, trace_state = {NULL, 0};
    uint64_t dropped = 0;
    uint32_t flags = 0;
    Repeated *attributes = PyMem_Malloc(sizeof(Repeated));
    if (attributes == NULL)
        return WALK_ERROR;
    attributes->n = 0;
    int result = WALK_UNUSUAL;
    {
        Cursor c = {link.p, link.p + link.n};
        uint32_t number;
        int wire_type, ok;
        while (next_field(&c, &number, &wire_type, &ok)) {
            Slice item;
            if (number >= 1 && number <= 3) {
                if (wire_type != WT_LEN || !read_slice(&c, &item)) goto done;
                if (number == 1) trace_id = item; else if (number == 2) span_id = item; else trace_state = item;
            } else if (number == 4) {
                if (wire_type != WT_LEN || !read_slice(&c, &item) || !keep(attributes, item)) goto done;
            } else if (number == 5) {
                if (wire_type != WT_VARINT || !read_varint(&c, &dropped)) goto done;
            } else if (number == 6) {
                if (wire_type != WT_I32 || c.end - c.p < 4) goto done;
                flags = (uint32_t)c.p[0] | (uint32_t)c.p[1] << 8 | (uint32_t)c.p[2] << 16 | (uint32_t)c.p[3] << 24;
                c.p += 4;
            } else if (!skip_field(&c, wire_type)) {
                goto done;
            }
        }
        if (!ok)
            goto done;
    }
    Object o = {b, 0};
    PUT_LITERAL(b, "{");
    if (trace_id.n) { key(&o, "traceId"); PUT_LITERAL(b, "\""); buf_hex(b, trace_id); PUT_LITERAL(b, "\""); }
    if (span_id.n) { key(&o, "spanId"); PUT_LITERAL(b, "\""); buf_hex(b, span_id); PUT_LITERAL(b, "\""); }
    if (trace_state.n) { key(&o, "traceState"); if (!buf_quote(b, trace_state)) goto done; }
    if (put_attributes(&o, "attributes", attributes, cache) < 0) { result = WALK_ERROR; goto done; }
    if ((uint32_t)dropped) { key(&o, "droppedAttributesCount"); buf_u64(b, (uint32_t)dropped); }
    if (flags) { key(&o, "flags"); buf_u64(b, flags); }
    PUT_LITERAL(b, "}");
    result = WALK_OK;
done:
    PyMem_Free(attributes);
    return result;
}

/* Status: message (2) and code (3), each the last occurrence over every merged status. */
static int status_fields(Slice status, Slice *message, int64_t *code) {
    Cursor c = {status.p, status.p + status.n};
    uint32_t number;
    int wire_type, ok;
    while (next_field(&c, &number, &wire_type, &ok)) {
        uint64_t value;
        if (number == 2) {
            if (wire_type != WT_LEN || !read_slice(&c, message))
                return 0;
        } else if (number == 3) {
            if (wire_type != WT_VARINT || !read_varint(&c, &value))
                return 0;
            *code = (int32_t)value;
        } else if (!skip_field(&c, wire_type)) {
            return 0;
        }
    }
    return ok;
}

/* The repeated parts of one span, kept on the heap (they are large). */
typedef struct {
    Repeated attributes, events, links;
} SpanLists;

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
            case 1: FIELD_LEN(trace_id); break;
            case 2: FIELD_LEN(span_id); break;
            case 3: FIELD_LEN(trace_state); break;
            case 4: FIELD_LEN(parent_id); break;
            case 5: FIELD_LEN(name); break;
            case 6: FIELD_VARINT(kind); break;
            case 7: FIELD_FIXED64(start); break;
            case 8: FIELD_FIXED64(end); break;
            case 9: FIELD_REPEATED(lists->attributes); break;
            case 10: FIELD_VARINT(dropped_attributes); break;
            case 11: FIELD_REPEATED(lists->events); break;
            case 12: FIELD_VARINT(dropped_events); break;
            case 13: FIELD_REPEATED(lists->links); break;
            case 14: FIELD_VARINT(dropped_links); break;
            case 15:
                FIELD_LEN(item);
                if (!status_fields(item, &message, &code))
                    return WALK_UNUSUAL;
                break;
            case 16: FIELD_FIXED32(flags); break;
            default: FIELD_SKIP();
            }
        }
        FIELDS_END();
    }
    Object o = {b, 0};
    PUT_LITERAL(b, "{");
    if (trace_id.n) { key(&o, "traceId"); PUT_LITERAL(b, "\""); buf_hex(b, trace_id); PUT_LITERAL(b, "\""); }
    if (span_id.n) { key(&o, "spanId"); PUT_LITERAL(b, "\""); buf_hex(b, span_id); PUT_LITERAL(b, "\""); }
    if (trace_state.n) { key(&o, "traceState"); if (!buf_quote(b, trace_state)) return WALK_UNUSUAL; }
    if (parent_id.n) { key(&o, "parentSpanId"); PUT_LITERAL(b, "\""); buf_hex(b, parent_id); PUT_LITERAL(b, "\""); }
    if (flags) { key(&o, "flags"); buf_u64(b, flags); }
    if (name.n) { key(&o, "name"); if (!buf_quote(b, name)) return WALK_UNUSUAL; }
    if ((int32_t)kind) { key(&o, "kind"); buf_i64(b, (int32_t)kind); }
    if (start) { key(&o, "startTimeUnixNano"); PUT_LITERAL(b, "\""); buf_u64(b, start); PUT_LITERAL(b, "\""); }
    if (end) { key(&o, "endTimeUnixNano"); PUT_LITERAL(b, "\""); buf_u64(b, end); PUT_LITERAL(b, "\""); }
    if (put_attributes(&o, "attributes", &lists->attributes, cache) < 0)
        return WALK_ERROR;
    if ((uint32_t)dropped_attributes) { key(&o, "droppedAttributesCount"); buf_u64(b, (uint32_t)dropped_attributes); }
    const Repeated *groups[2] = {&lists->events, &lists->links};
    const char *group_names[2] = {"events", "links"};
    const uint64_t group_dropped[2] = {dropped_events, dropped_links};
    const char *dropped_names[2] = {"droppedEventsCount", "droppedLinksCount"};
    for (int g = 0; g < 2; g++) {
        if (groups[g]->n) {
            key(&o, group_names[g]);
            PUT_LITERAL(b, "[");
            for (int i = 0; i < groups[g]->n; i++) {
                if (i)
                    PUT_LITERAL(b, ",");
                int put = g == 0 ? put_event(b, groups[g]->items[i], cache) : put_link(b, groups[g]->items[i], cache);
                if (put != WALK_OK)
                    return put;
            }
            PUT_LITERAL(b, "]");
        }
        if ((uint32_t)group_dropped[g]) { key(&o, dropped_names[g]); buf_u64(b, (uint32_t)group_dropped[g]); }
    }
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
    Py_ssize_t scope;
    SpanLists *lists;
} Lines;

static int lines_of_scope_spans(Lines *lines, Slice scope_spans) {
    if (lines->scope >= PyList_GET_SIZE(lines->affixes))
        return WALK_UNUSUAL;
    PyObject *affix = PyList_GET_ITEM(lines->affixes, lines->scope++);
    char *prefix, *suffix;
    Py_ssize_t prefix_n, suffix_n;
    if (!PyTuple_Check(affix) || PyTuple_GET_SIZE(affix) != 2
        || PyBytes_AsStringAndSize(PyTuple_GET_ITEM(affix, 0), &prefix, &prefix_n) < 0
        || PyBytes_AsStringAndSize(PyTuple_GET_ITEM(affix, 1), &suffix, &suffix_n) < 0)
        return PyErr_Occurred() ? WALK_ERROR : WALK_UNUSUAL;
    FIELDS_OF(scope_spans) {
        Slice span;
        if (number == 1 || number == 2) {
            FIELD_LEN(span);
            if (number == 1)
                continue;
            buf_put(&lines->blob, prefix, (size_t)prefix_n);
            int put = put_span(&lines->blob, span, lines->cache, lines->lists);
            if (put != WALK_OK)
                return put;
            buf_put(&lines->blob, suffix, (size_t)suffix_n);
            PUT_LITERAL(&lines->blob, "\n");
            if (lines->blob.failed) {
                PyErr_NoMemory();
                return WALK_ERROR;
            }
            if (!append_new(lines->ends, PyLong_FromSize_t(lines->blob.size)))
                return WALK_ERROR;
        } else {
            FIELD_SKIP();
        }
    }
    FIELDS_END();
    return WALK_OK;
}

static int lines_of_resource_spans(Lines *lines, Slice resource_spans) {
    FIELDS_OF(resource_spans) {
        Slice item;
        if (number == 1 || number == 2) {
            FIELD_LEN(item);
            if (number == 2) {
                int walked = lines_of_scope_spans(lines, item);
                if (walked != WALK_OK)
                    return walked;
            }
        } else {
            FIELD_SKIP();
        }
    }
    FIELDS_END();
    return WALK_OK;
}

static int lines_of_request(Lines *lines, Slice request) {
    FIELDS_OF(request) {
        Slice item;
        if (number == 1) {
            FIELD_LEN(item);
            int walked = lines_of_resource_spans(lines, item);
            if (walked != WALK_OK)
                return walked;
        } else {
            FIELD_SKIP();
        }
    }
    FIELDS_END();
    return WALK_OK;
}

PyObject *span_json_lines(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer raw;
    Lines lines = {{NULL, 0, 0, 0}, NULL, NULL, NULL, 0, NULL};
    if (!PyArg_ParseTuple(args, "y*O!O!:span_json_lines", &raw, &BytesCacheType, &lines.cache, &PyList_Type,
                          &lines.affixes))
        return NULL;
    PyObject *result = NULL;
    lines.ends = PyList_New(0);
    lines.lists = PyMem_Malloc(sizeof(SpanLists));
    int walked = WALK_ERROR;
    if (lines.ends != NULL && lines.lists != NULL) {
        Slice request = {raw.buf, raw.len};
        walked = lines_of_request(&lines, request);
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

