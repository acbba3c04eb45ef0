/* scalar_key_value: one attribute's KeyValue decoded straight off the wire, for the common case.

   A KeyValue seen for the first time is decoded (and so validated) before it is interned. For a
   string, int, double or bool value this does it without protobuf's message objects; anything
   else (arrays, maps, bytes, a field twice, an unknown field, a varint not in its shortest form
   for a bool, a 10-byte varint not ending in 0x01) answers None and the official KeyValue
   decoder decides, so this never accepts what protobuf refuses. Strings are UTF-8-checked by
   Python's strict decoder (surrogates and overlong forms refused, as upb does).
*/
#include "wire.h"

enum { KV_KEY = 1, KV_VALUE = 2 };
enum { AV_STRING = 1, AV_BOOL = 2, AV_INT = 3, AV_DOUBLE = 4 };

static PyObject *type_names[5];  /* "empty", "str", "bool", "int", "double" by AnyValue field number */
static PyObject *shared_keys;    /* key str -> itself, for the first SHARED_KEYS distinct keys */
enum { SHARED_KEYS = 4096 };

/* One str object per distinct key, so a million pairs of one key hold its text once. Bounded:
   a request of 100,000 distinct keys must not grow a table that never shrinks (the keys
   past the bound are kept as decoded). A new reference, or NULL with an error set. */
static PyObject *shared_key(PyObject *key) {
    if (shared_keys == NULL && (shared_keys = PyDict_New()) == NULL)
        return NULL;
    PyObject *found = PyDict_GetItemWithError(shared_keys, key);
    if (found != NULL)
        return Py_NewRef(found);
    if (PyErr_Occurred())
        return NULL;
    if (PyDict_GET_SIZE(shared_keys) < SHARED_KEYS && PyDict_SetItem(shared_keys, key, key) < 0)
        return NULL;
    return Py_NewRef(key);
}

static int init_type_names(void) {
    static const char *names[5] = {"empty", "str", "bool", "int", "double"};
    for (int i = 0; i < 5; i++) {
        if (type_names[i] == NULL && (type_names[i] = PyUnicode_InternFromString(names[i])) == NULL)
            return 0;
    }
    return 1;
}

/* A varint as protobuf reads an int64: 1 and the value, or 0 (overlong, truncated, or unusual). */
static int read_int64(Cursor *c, uint64_t *out) {
    const uint8_t *start = c->p;
    if (!read_varint(c, out))
        return 0;
    return c->p - start < 10 || c->p[-1] == 0x01;
}

/* The AnyValue's Python value and its field number (0: no value), or NULL with *unusual set. */
static PyObject *any_value(Slice s, int *field, int *unusual) {
    Cursor c = {s.p, s.p + s.n};
    uint32_t number;
    int wire_type, ok, seen = 0;
    PyObject *value = NULL;
    *field = 0;
    while (next_field(&c, &number, &wire_type, &ok)) {
        if (seen++)
            goto unusual;  /* a oneof set twice: protobuf keeps the last, the official path decides */
        uint64_t raw;
        Slice text;
        if (number == AV_STRING && wire_type == WT_LEN && read_slice(&c, &text)) {
            value = PyUnicode_DecodeUTF8((const char *)text.p, text.n, "strict");
            if (value == NULL) {
                PyErr_Clear();
                goto unusual;
            }
        } else if (number == AV_BOOL && wire_type == WT_VARINT && read_varint(&c, &raw) && raw <= 1
                   && c.p[-1] == raw) {
            value = PyBool_FromLong((long)raw);
        } else if (number == AV_INT && wire_type == WT_VARINT && read_int64(&c, &raw)) {
            value = PyLong_FromLongLong((long long)raw);
        } else if (number == AV_DOUBLE && wire_type == WT_I64 && read_fixed64(&c, &raw)) {
            double d;
            memcpy(&d, &raw, sizeof d);
            value = PyFloat_FromDouble(d);
        } else {
            goto unusual;
        }
        if (value == NULL)
            return NULL;  /* out of memory */
        *field = (int)number;
    }
    if (!ok)
        goto unusual;
    if (value == NULL)
        value = Py_NewRef(Py_None);
    return value;
unusual:
    Py_XDECREF(value);
    *unusual = 1;
    return NULL;
}

PyObject *scalar_key_value(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (!init_type_names() || PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Cursor c = {view.buf, (const uint8_t *)view.buf + view.len};
    uint32_t number;
    int wire_type, ok, unusual = 0, field = 0, keys = 0, values = 0;
    Slice key = {NULL, 0}, value_bytes = {NULL, 0};
    while (next_field(&c, &number, &wire_type, &ok)) {
        if (number == KV_KEY && wire_type == WT_LEN && !keys++ && read_slice(&c, &key))
            continue;
        if (number == KV_VALUE && wire_type == WT_LEN && !values++ && read_slice(&c, &value_bytes))
            continue;
        unusual = 1;
        break;
    }
    PyObject *result = NULL;
    if (unusual || !ok)
        goto none;
    PyObject *key_text = PyUnicode_DecodeUTF8((const char *)(key.p ? key.p : c.p), key.n, "strict");
    if (key_text == NULL) {
        PyErr_Clear();
        goto none;
    }
    PyObject *key_shared = shared_key(key_text);
    Py_DECREF(key_text);
    if (key_shared == NULL)
        goto done;
    key_text = key_shared;
    PyObject *value = any_value(value_bytes, &field, &unusual);
    if (value == NULL) {
        Py_DECREF(key_text);
        if (unusual)
            goto none;
        goto done;
    }
    result = PyTuple_Pack(3, key_text, value, type_names[field]);
    Py_DECREF(key_text);
    Py_DECREF(value);
    goto done;
none:
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&view);
    return result;
}
