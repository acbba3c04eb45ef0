/* The Python face of an AttributeStore: its sequence protocol, methods and type (attr_store.h). */
#include "attr_store_internal.h"

static int store_init(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"decode", "factory", NULL};
    AttrStore *s = (AttrStore *)self;
    PyObject *decode, *factory;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:AttributeStore", keywords, &decode, &factory))
        return -1;
    if (s->table.slots != NULL) {
        PyErr_SetString(PyExc_TypeError, "AttributeStore is initialized once");
        return -1;
    }
    if (!PyCallable_Check(decode) || !PyCallable_Check(factory)) {
        PyErr_SetString(PyExc_TypeError, "AttributeStore(decode, factory): both must be callable");
        return -1;
    }
    if ((s->key_texts = PyList_New(0)) == NULL || (s->extras = PyDict_New()) == NULL || !attr_rehash(s, 1024))
        return -1;
    s->current = -1;
    s->decode = Py_NewRef(decode);
    s->factory = Py_NewRef(factory);
    return 0;
}

static Py_ssize_t store_length(PyObject *self) { return ((AttrStore *)self)->n; }

static PyObject *decoded_attribute(const AttrStore *s, Py_ssize_t id) {
    PyObject *index = PyLong_FromSsize_t(id);
    PyObject *found = index == NULL ? NULL : PyDict_GetItemWithError(s->extras, index);
    Py_XDECREF(index);
    if (found == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "AttributeStore lost a decoded attribute");
    return Py_XNewRef(found);
}

static PyObject *attribute(AttrStore *s, Py_ssize_t id) {
    const Entry *e = entry_at(s, id);
    if (*e & DECODED)
        return decoded_attribute(s, id);
    ScalarKV kv;
    int32_t key = *key_at(s, id);
    if (!parse_scalar_kv(entry_bytes(s, e), &kv) || key < 0 || key >= PyList_GET_SIZE(s->key_texts)) {
        PyErr_SetString(PyExc_RuntimeError, "AttributeStore holds an unreadable attribute");
        return NULL;
    }
    PyObject *triple = scalar_triple(&kv, PyList_GET_ITEM(s->key_texts, key));
    if (triple == NULL)
        return NULL;
    PyObject *made = PyObject_Call(s->factory, triple, NULL);
    Py_DECREF(triple);
    return made;
}

static PyObject *store_item(PyObject *self, Py_ssize_t id) {
    AttrStore *s = (AttrStore *)self;
    if (id < 0 || id >= s->n) {
        PyErr_SetString(PyExc_IndexError, "attribute id out of range");
        return NULL;
    }
    return attribute(s, id);
}

static PyObject *store_subscript(PyObject *self, PyObject *key) {
    AttrStore *s = (AttrStore *)self;
    if (PySlice_Check(key)) {
        Py_ssize_t start, stop, step;
        if (PySlice_Unpack(key, &start, &stop, &step) < 0)
            return NULL;
        Py_ssize_t count = PySlice_AdjustIndices(s->n, &start, &stop, step);
        PyObject *out = PyList_New(count);
        for (Py_ssize_t i = 0; out != NULL && i < count; i++) {
            PyObject *item = attribute(s, start + i * step);
            if (item == NULL)
                Py_CLEAR(out);
            else
                PyList_SET_ITEM(out, i, item);
        }
        return out;
    }
    Py_ssize_t id = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (id == -1 && PyErr_Occurred())
        return NULL;
    return store_item(self, id < 0 ? id + s->n : id);
}

static int buffer_arg(PyObject *arg, Py_buffer *view) {
    return PyObject_GetBuffer(arg, view, PyBUF_SIMPLE);
}

static PyObject *store_intern(PyObject *self, PyObject *raw) {
    Py_buffer view;
    if (buffer_arg(raw, &view) < 0)
        return NULL;
    Slice slice = {view.buf, view.len};
    Py_ssize_t id = attr_store_intern(self, slice);
    PyBuffer_Release(&view);
    return id < 0 ? NULL : PyLong_FromSsize_t(id);
}

static PyObject *store_find(PyObject *self, PyObject *raw) {
    AttrStore *s = (AttrStore *)self;
    Py_buffer view;
    if (buffer_arg(raw, &view) < 0)
        return NULL;
    Slice slice = {view.buf, view.len};
    Py_ssize_t id = attr_find(s, slice);
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(id);
}

static int id_arg(AttrStore *s, PyObject *arg, Py_ssize_t *id) {
    *id = PyNumber_AsSsize_t(arg, PyExc_IndexError);
    if (*id == -1 && PyErr_Occurred())
        return 0;
    if (*id < 0 || *id >= s->n) {
        PyErr_SetString(PyExc_IndexError, "attribute id out of range");
        return 0;
    }
    return 1;
}

static PyObject *store_raw(PyObject *self, PyObject *arg) {
    AttrStore *s = (AttrStore *)self;
    Py_ssize_t id;
    if (!id_arg(s, arg, &id))
        return NULL;
    Slice b = entry_bytes(s, entry_at(s, id));
    return PyBytes_FromStringAndSize((const char *)b.p, b.n);
}

static int range_args(AttrStore *s, PyObject *args, Py_ssize_t *start, Py_ssize_t *end) {
    *start = 0;
    *end = s->n;
    if (!PyArg_ParseTuple(args, "|nn", start, end))
        return 0;
    if (*start < 0)
        *start = 0;
    if (*end > s->n)
        *end = s->n;
    if (*end < *start)
        *end = *start;
    return 1;
}

static PyObject *store_key_column(PyObject *self, PyObject *args) {
    AttrStore *s = (AttrStore *)self;
    Py_ssize_t start, end;
    if (!range_args(s, args, &start, &end))
        return NULL;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (end - start) * (Py_ssize_t)sizeof(int32_t));
    if (out == NULL)
        return NULL;
    int32_t *column = (int32_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t id = start; id < end;) {  /* a page's key ids at a time */
        Py_ssize_t run = PAGE_SIZE - (id & (PAGE_SIZE - 1));
        if (run > end - id)
            run = end - id;
        memcpy(column + (id - start), key_at(s, id), (size_t)run * sizeof *column);
        id += run;
    }
    return out;
}

static PyObject *store_odd_ids(PyObject *self, PyObject *args) {
    AttrStore *s = (AttrStore *)self;
    Py_ssize_t start, end;
    if (!range_args(s, args, &start, &end))
        return NULL;
    PyObject *out = PyList_New(0);
    for (Py_ssize_t id = start; out != NULL && id < end; id++) {
        if (*entry_at(s, id) & ODD) {
            PyObject *index = PyLong_FromSsize_t(id);
            if (index == NULL || PyList_Append(out, index) < 0)
                Py_CLEAR(out);
            Py_XDECREF(index);
        }
    }
    return out;
}

static PyObject *store_key_id(PyObject *self, PyObject *key) {
    AttrStore *s = (AttrStore *)self;
    Py_ssize_t n;
    const char *utf8 = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, &n) : NULL;
    if (utf8 == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "key_id(key): key must be str");
        return NULL;
    }
    Slice slice = {(const uint8_t *)utf8, n};
    return PyLong_FromSsize_t(slice_set_find(&s->keys, slice));
}

static PyObject *store_keys(PyObject *self, PyObject *Py_UNUSED(ignored)) {
    return PyList_GetSlice(((AttrStore *)self)->key_texts, 0, PY_SSIZE_T_MAX);
}

static PyObject *store_nbytes(PyObject *self, PyObject *Py_UNUSED(ignored)) {
    AttrStore *s = (AttrStore *)self;
    size_t held = s->arena_bytes + (size_t)s->n * (sizeof(Entry) + sizeof(int32_t)) + slot_table_nbytes(&s->table)
                  + s->keys.capacity;
    return PyLong_FromSize_t(held);
}

static int store_traverse(PyObject *self, visitproc visit, void *arg) {
    AttrStore *s = (AttrStore *)self;
    Py_VISIT(s->key_texts);
    Py_VISIT(s->extras);
    Py_VISIT(s->decode);
    Py_VISIT(s->factory);
    return 0;
}

static int store_clear(PyObject *self) {
    AttrStore *s = (AttrStore *)self;
    Py_CLEAR(s->key_texts);
    Py_CLEAR(s->extras);
    Py_CLEAR(s->decode);
    Py_CLEAR(s->factory);
    return 0;
}

static void store_dealloc(PyObject *self) {
    PyObject_GC_UnTrack(self);
    store_clear(self);
    attr_free_storage((AttrStore *)self);
    Py_TYPE(self)->tp_free(self);
}

static PySequenceMethods store_sequence = {.sq_length = store_length, .sq_item = store_item};
static PyMappingMethods store_mapping = {.mp_length = store_length, .mp_subscript = store_subscript};

static PyMethodDef store_methods[] = {
    {"intern", store_intern, METH_O, "intern(raw) -> id of the KeyValue bytes, added (validated) on first sight."},
    {"find", store_find, METH_O, "find(raw) -> id of the KeyValue bytes, or -1 when absent."},
    {"raw", store_raw, METH_O, "raw(id) -> the KeyValue bytes of an id."},
    {"key_column", store_key_column, METH_VARARGS, "key_column(start=0, end=len) -> int32 key id per attribute id, as bytes."},
    {"odd_ids", store_odd_ids, METH_VARARGS,
     "odd_ids(start=0, end=len) -> ids that equality lookups cannot find by their canonical bytes."},
    {"key_id", store_key_id, METH_O, "attr_key_id(key) -> the key's id in key_column, or -1."},
    {"keys", store_keys, METH_NOARGS, "keys() -> the key str of each key id."},
    {"nbytes", store_nbytes, METH_NOARGS, "nbytes() -> bytes in use (blocks and pages are touched as they fill)."},
    {"compacted", attr_store_compacted, METH_O,
     "compacted(keep) -> a new store of the ids in `keep` (int64 buffer, ascending), renumbered from 0; "
     "the copy runs without the GIL."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject AttributeStoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kubespan.otlp._spanwalk.AttributeStore",
    .tp_basicsize = sizeof(AttrStore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_SEQUENCE,
    .tp_doc = "AttributeStore(decode, factory): distinct attribute KeyValues by dense id, kept as their bytes.",
    .tp_new = PyType_GenericNew,
    .tp_init = store_init,
    .tp_traverse = store_traverse,
    .tp_clear = store_clear,
    .tp_dealloc = store_dealloc,
    .tp_as_sequence = &store_sequence,
    .tp_as_mapping = &store_mapping,
    .tp_methods = store_methods,
};
