/* strip_attributes and join_attributes: the span store keeps each span attribute once, in its
   AttributeStore, instead of twice (there and in the request bytes kept for the detail view).

   strip_attributes copies a request without its spans' attribute fields (lengths re-encoded,
   every other byte kept), after checking that the spans' attributes are exactly the KeyValue
   bytes of the ids the store recorded for them, in order; join_attributes appends them again
   to one span's bytes. A span read back parses to the same message (its attributes in their
   order, after its other fields). Anything unexpected answers None: the store keeps the request
   whole. */
#include "attr_store_internal.h"

typedef struct {
    const AttrStore *store;
    const int32_t *ids, *offsets;
    Py_ssize_t n_ids, n_spans, span;
    Py_ssize_t *sizes;  /* the stripped size of every nested message, in pre-order */
    Py_ssize_t n_sizes, capacity, next;
    uint8_t *out;
} Strip;

/* The field holding the nested messages at each level: request, ResourceSpans, ScopeSpans. */
static const uint32_t NESTED[3] = {REQUEST_RESOURCE_SPANS, RESOURCE_SPANS_SCOPE_SPANS, SCOPE_SPANS_SPANS};
enum { SPAN_LEVEL = 3 };

static uint8_t *put_varint(uint8_t *p, uint64_t value) {
    for (; value >= 0x80; value >>= 7)
        *p++ = (uint8_t)(value | 0x80);
    *p++ = (uint8_t)value;
    return p;
}

/* Whether `kv` is the bytes of the next id recorded for the current span. */
static int expected_attribute(Strip *s, Py_ssize_t *k, Py_ssize_t stop, Slice kv) {
    if (*k >= stop)
        return 0;
    int32_t id = s->ids[(*k)++];
    if (id < 0 || id >= s->store->n)
        return 0;
    Slice known = entry_bytes(s->store, entry_at(s->store, id));
    return known.n == kv.n && (kv.n == 0 || memcmp(known.p, kv.p, (size_t)kv.n) == 0);
}

/* Pass 1: the stripped size of `message` at `level`, each nested message's size recorded in
   pre-order; -1 when the request is not the common case or does not match the ids. */
static Py_ssize_t measure(Strip *s, Slice message, int level) {
    Py_ssize_t k = 0, stop = 0, total = 0;
    if (level == SPAN_LEVEL) {
        if (s->span >= s->n_spans)
            return -1;
        k = s->offsets[s->span];
        stop = s->offsets[++s->span];
        if (k < 0 || stop < k || stop > s->n_ids)
            return -1;
    }
    Cursor c = {message.p, message.p + message.n};
    uint32_t number;
    int wire_type, ok;
    for (const uint8_t *start = c.p; next_field(&c, &number, &wire_type, &ok); start = c.p) {
        Slice inner;
        if (level == SPAN_LEVEL && number == SPAN_ATTRIBUTES) {
            if (wire_type != WT_LEN || !read_slice(&c, &inner) || !expected_attribute(s, &k, stop, inner))
                return -1;
        } else if (level < SPAN_LEVEL && number == NESTED[level]) {
            Py_ssize_t key = c.p - start;
            if (wire_type != WT_LEN || !read_slice(&c, &inner))
                return -1;
            if (s->n_sizes == s->capacity) {
                Py_ssize_t capacity = s->capacity ? 2 * s->capacity : 256;
                Py_ssize_t *sizes = PyMem_Realloc(s->sizes, (size_t)capacity * sizeof *sizes);
                if (sizes == NULL) {
                    PyErr_NoMemory();
                    return -1;
                }
                s->sizes = sizes;
                s->capacity = capacity;
            }
            Py_ssize_t slot = s->n_sizes++;
            Py_ssize_t size = measure(s, inner, level + 1);
            if (size < 0)
                return -1;
            s->sizes[slot] = size;
            total += key + varint_size((uint64_t)size) + size;
        } else {
            if (!skip_field(&c, wire_type))
                return -1;
            total += c.p - start;
        }
    }
    return ok && k == stop ? total : -1;
}

/* Pass 2: write what pass 1 measured (the same walk, already checked). */
static void write_stripped(Strip *s, Slice message, int level) {
    Cursor c = {message.p, message.p + message.n};
    uint32_t number;
    int wire_type, ok;
    for (const uint8_t *start = c.p; next_field(&c, &number, &wire_type, &ok); start = c.p) {
        Slice inner;
        if (level == SPAN_LEVEL && number == SPAN_ATTRIBUTES) {
            read_slice(&c, &inner);
        } else if (level < SPAN_LEVEL && number == NESTED[level]) {
            memcpy(s->out, start, (size_t)(c.p - start));
            s->out += c.p - start;
            read_slice(&c, &inner);
            s->out = put_varint(s->out, (uint64_t)s->sizes[s->next++]);
            write_stripped(s, inner, level + 1);
        } else {
            skip_field(&c, wire_type);
            memcpy(s->out, start, (size_t)(c.p - start));
            s->out += c.p - start;
        }
    }
}

static int int32_buffer(const Py_buffer *view, const char *name) {
    if (view->len % (Py_ssize_t)sizeof(int32_t)) {
        PyErr_Format(PyExc_ValueError, "%s must be int32", name);
        return 0;
    }
    return 1;
}

PyObject *strip_attributes(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer raw, ids, offsets;
    PyObject *store, *result = NULL;
    if (!PyArg_ParseTuple(args, "y*O!y*y*:strip_attributes", &raw, &AttributeStoreType, &store, &ids, &offsets))
        return NULL;
    Strip s = {(const AttrStore *)store, ids.buf, offsets.buf, ids.len / (Py_ssize_t)sizeof(int32_t),
               offsets.len / (Py_ssize_t)sizeof(int32_t) - 1, 0, NULL, 0, 0, 0, NULL};
    if (int32_buffer(&ids, "ids") && int32_buffer(&offsets, "offsets")) {
        Slice request = {raw.buf, raw.len};
        Py_ssize_t size = s.n_spans < 0 ? -1 : measure(&s, request, 0);
        if (size < 0 || s.span != s.n_spans || s.offsets[s.n_spans] != s.n_ids) {
            result = PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
        } else if ((result = PyBytes_FromStringAndSize(NULL, size)) != NULL) {
            s.out = (uint8_t *)PyBytes_AS_STRING(result);
            write_stripped(&s, request, 0);
        }
    }
    PyMem_Free(s.sizes);
    PyBuffer_Release(&raw);
    PyBuffer_Release(&ids);
    PyBuffer_Release(&offsets);
    return result;
}

PyObject *join_attributes(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer span, ids;
    PyObject *store, *result = NULL;
    if (!PyArg_ParseTuple(args, "y*O!y*:join_attributes", &span, &AttributeStoreType, &store, &ids))
        return NULL;
    const AttrStore *s = (const AttrStore *)store;
    const int32_t *id = ids.buf;
    Py_ssize_t n = ids.len / (Py_ssize_t)sizeof(int32_t), size = span.len;
    if (!int32_buffer(&ids, "ids"))
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (id[i] < 0 || id[i] >= s->n) {
            PyErr_SetString(PyExc_IndexError, "attribute id out of range");
            goto done;
        }
        Py_ssize_t length = entry_bytes(s, entry_at(s, id[i])).n;
        size += 1 + varint_size((uint64_t)length) + length;
    }
    if ((result = PyBytes_FromStringAndSize(NULL, size)) == NULL)
        goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    if (span.len)
        memcpy(out, span.buf, (size_t)span.len);
    out += span.len;
    for (Py_ssize_t i = 0; i < n; i++) {
        Slice kv = entry_bytes(s, entry_at(s, id[i]));
        *out++ = (uint8_t)(SPAN_ATTRIBUTES << 3 | WT_LEN);
        out = put_varint(out, (uint64_t)kv.n);
        if (kv.n)
            memcpy(out, kv.p, (size_t)kv.n);
        out += kv.n;
    }
done:
    PyBuffer_Release(&span);
    PyBuffer_Release(&ids);
    return result;
}
