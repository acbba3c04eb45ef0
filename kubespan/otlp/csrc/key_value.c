/* scalar_key_value: one attribute's KeyValue decoded straight off the wire, for the common case.

   A KeyValue seen for the first time is decoded (and so validated) before it is interned. For a
   string, int, double or bool value this does it without protobuf's message objects; anything
   else (arrays, maps, bytes, a field twice, an unknown field, a varint not in its shortest form
   for a bool, a 10-byte varint not ending in 0x01) answers None and the official KeyValue
   decoder decides, so this never accepts what protobuf refuses. Strings are UTF-8-checked as
   Python's strict decoder does (surrogates and overlong forms refused, as upb does).
*/
#include "key_value.h"
#include "attr_store.h"

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

PyObject *scalar_value(const ScalarKV *kv) {
    switch (kv->field) {
    case AV_STRING:
        return PyUnicode_DecodeUTF8((const char *)(kv->text.p ? kv->text.p : (const uint8_t *)""), kv->text.n, "strict");
    case AV_BOOL:
        return PyBool_FromLong((long)kv->bits);
    case AV_INT:
        return PyLong_FromLongLong((long long)kv->bits);
    case AV_DOUBLE: {
        double d;
        memcpy(&d, &kv->bits, sizeof d);
        return PyFloat_FromDouble(d);
    }
    default:
        return Py_NewRef(Py_None);
    }
}

PyObject *scalar_type_name(int field) {
    if (!init_type_names())
        return NULL;
    return Py_NewRef(type_names[field]);
}

PyObject *scalar_key_text(Slice key) {
    PyObject *text = PyUnicode_DecodeUTF8((const char *)(key.p ? key.p : (const uint8_t *)""), key.n, "strict");
    if (text == NULL)
        return NULL;
    PyObject *shared = shared_key(text);
    Py_DECREF(text);
    return shared;
}

/* (key, value, type) of a parsed scalar pair; NULL with an error set. */
PyObject *scalar_triple(const ScalarKV *kv, PyObject *key) {
    if (!init_type_names())
        return NULL;
    PyObject *owned = NULL;
    if (key == NULL && (key = owned = scalar_key_text(kv->key)) == NULL)
        return NULL;
    PyObject *value = scalar_value(kv);
    PyObject *result = value == NULL ? NULL : PyTuple_Pack(3, key, value, type_names[kv->field]);
    Py_XDECREF(value);
    Py_XDECREF(owned);
    return result;
}

PyObject *scalar_key_value(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Slice raw = {view.buf, view.len};
    ScalarKV kv;
    PyObject *result = parse_scalar_kv(raw, &kv) ? scalar_triple(&kv, NULL) : Py_NewRef(Py_None);
    PyBuffer_Release(&view);
    return result;
}
