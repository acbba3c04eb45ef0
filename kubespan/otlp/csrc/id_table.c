/* IdTable: fixed-width ids (trace ids) numbered densely in order of first sight.

   The span store's trace table: a row per trace id, found for a whole batch in one call from
   the ids packed end to end. A dict of bytes keys cost about 130 bytes per trace; this costs the
   id's bytes and about 6 more. Rows never change within a table; `compacted(keep)` makes a new
   one holding the rows kept, renumbered in order (the store's trace-row compaction).
*/
#include "slot_table.h"

#define ID_PAGE_BITS 14
#define ID_PAGE ((Py_ssize_t)1 << ID_PAGE_BITS)

typedef struct {
    PyObject_HEAD
    Py_ssize_t width;
    uint8_t **pages;  /* ID_PAGE ids of `width` bytes each */
    Py_ssize_t n_pages, n;
    SlotTable table;  /* a slot holds a row; at most 2/3 full */
} IdTable;

static inline const uint8_t *id_at(const IdTable *t, Py_ssize_t row) {
    return t->pages[row >> ID_PAGE_BITS] + (size_t)(row & (ID_PAGE - 1)) * (size_t)t->width;
}

static inline uint32_t id_hash(const IdTable *t, const uint8_t *key) {
    Slice s = {key, t->width};
    return (uint32_t)slice_hash(s);
}

static uint32_t *id_slot(const IdTable *t, const uint8_t *key, uint32_t hash) {
    for (Py_ssize_t i = slot_first(t->table.mask, hash);; i = slot_next(t->table.mask, i)) {
        uint32_t row = t->table.slots[i];
        if (row == SLOT_EMPTY || memcmp(id_at(t, row), key, (size_t)t->width) == 0)
            return &t->table.slots[i];
    }
}

static int id_rehash(IdTable *t, Py_ssize_t capacity) {
    if (!slot_table_reset(&t->table, capacity))
        return 0;
    for (Py_ssize_t row = 0; row < t->n; row++)
        *slot_table_vacancy(&t->table, id_hash(t, id_at(t, row))) = (uint32_t)row;
    return 1;
}

/* The row of `key`, adding it when new (*added set); -1 with an error set. */
static Py_ssize_t id_add(IdTable *t, const uint8_t *key, int *added) {
    uint32_t hash = id_hash(t, key);
    uint32_t *slot = id_slot(t, key, hash);
    *added = 0;
    if (*slot != SLOT_EMPTY)
        return (Py_ssize_t)*slot;
    if (t->n >= INT32_MAX - 1) {
        PyErr_SetString(PyExc_OverflowError, "too many ids");
        return -1;
    }
    if ((t->n & (ID_PAGE - 1)) == 0 && (t->n >> ID_PAGE_BITS) == t->n_pages) {
        uint8_t **pages = PyMem_Realloc(t->pages, (size_t)(t->n_pages + 1) * sizeof *pages);
        if (pages == NULL)
            goto no_memory;
        t->pages = pages;
        if ((pages[t->n_pages] = PyMem_Malloc((size_t)ID_PAGE * (size_t)t->width)) == NULL)
            goto no_memory;
        t->n_pages++;
    }
    if (3 * (t->n + 1) > 2 * (t->table.mask + 1)) {
        if (!id_rehash(t, 2 * (t->table.mask + 1)))
            return -1;
        slot = id_slot(t, key, hash);
    }
    memcpy((uint8_t *)id_at(t, t->n), key, (size_t)t->width);
    *slot = (uint32_t)t->n;
    *added = 1;
    return t->n++;
no_memory:
    PyErr_NoMemory();
    return -1;
}

static int id_table_init(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"width", NULL};
    IdTable *t = (IdTable *)self;
    Py_ssize_t width;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "n:IdTable", keywords, &width))
        return -1;
    if (t->table.slots != NULL || width < 1 || width > 64) {
        PyErr_SetString(PyExc_ValueError, "IdTable(width): 1 to 64 bytes, initialized once");
        return -1;
    }
    t->width = width;
    return id_rehash(t, 1024) ? 0 : -1;
}

/* rows(ids) -> (int32 rows as bytes, number of new ids) for ids packed end to end. */
static PyObject *id_table_rows(PyObject *self, PyObject *arg) {
    IdTable *t = (IdTable *)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *out = NULL;
    if (view.len % t->width) {
        PyErr_SetString(PyExc_ValueError, "rows(ids): a whole number of ids");
        goto done;
    }
    Py_ssize_t count = view.len / t->width, added_total = 0;
    out = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(int32_t));
    if (out == NULL)
        goto done;
    int32_t *rows = (int32_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < count; i++) {
        int added;
        Py_ssize_t row = id_add(t, (const uint8_t *)view.buf + i * t->width, &added);
        if (row < 0) {
            Py_CLEAR(out);
            goto done;
        }
        rows[i] = (int32_t)row;
        added_total += added;
    }
    PyObject *pair = Py_BuildValue("(Nn)", out, added_total);
    out = pair;
done:
    PyBuffer_Release(&view);
    return out;
}

/* get(id) -> its row, or None. */
static PyObject *id_table_get(PyObject *self, PyObject *arg) {
    IdTable *t = (IdTable *)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *out;
    if (view.len != t->width) {
        out = Py_NewRef(Py_None);
    } else {
        uint32_t row = *id_slot(t, view.buf, id_hash(t, view.buf));
        out = row == SLOT_EMPTY ? Py_NewRef(Py_None) : PyLong_FromLong((long)row);
    }
    PyBuffer_Release(&view);
    return out;
}

static Py_ssize_t id_table_length(PyObject *self) { return ((IdTable *)self)->n; }

static PyObject *id_table_item(PyObject *self, Py_ssize_t row) {
    IdTable *t = (IdTable *)self;
    if (row < 0 || row >= t->n) {
        PyErr_SetString(PyExc_IndexError, "row out of range");
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)id_at(t, row), t->width);
}

static PyObject *id_table_compacted(PyObject *self, PyObject *arg) {
    IdTable *t = (IdTable *)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const int64_t *keep = view.buf;
    Py_ssize_t count = view.len / (Py_ssize_t)sizeof(int64_t);
    PyObject *made = PyObject_CallFunction((PyObject *)Py_TYPE(self), "n", t->width);
    int64_t previous = -1;
    for (Py_ssize_t i = 0; made != NULL && i < count; i++) {
        int added;
        if (keep[i] <= previous || keep[i] >= t->n) {
            PyErr_SetString(PyExc_ValueError, "compacted(keep): rows must ascend and exist");
            Py_CLEAR(made);
        } else if (id_add((IdTable *)made, id_at(t, (Py_ssize_t)keep[i]), &added) < 0) {
            Py_CLEAR(made);
        }
        previous = keep[i];
    }
    PyBuffer_Release(&view);
    return made;
}

static PyObject *id_table_nbytes(PyObject *self, PyObject *Py_UNUSED(ignored)) {
    IdTable *t = (IdTable *)self;
    return PyLong_FromSize_t((size_t)t->n * (size_t)t->width + slot_table_nbytes(&t->table));
}

static void id_table_dealloc(PyObject *self) {
    IdTable *t = (IdTable *)self;
    for (Py_ssize_t i = 0; i < t->n_pages; i++)
        PyMem_Free(t->pages[i]);
    PyMem_Free(t->pages);
    slot_table_free(&t->table);
    Py_TYPE(self)->tp_free(self);
}

static PySequenceMethods id_table_sequence = {.sq_length = id_table_length, .sq_item = id_table_item};

static PyMethodDef id_table_methods[] = {
    {"rows", id_table_rows, METH_O, "rows(ids) -> (int32 row per id as bytes, new ids): ids packed end to end."},
    {"get", id_table_get, METH_O, "get(id) -> its row, or None."},
    {"compacted", id_table_compacted, METH_O, "compacted(keep) -> a new table of the rows in `keep` (int64, ascending)."},
    {"nbytes", id_table_nbytes, METH_NOARGS, "nbytes() -> bytes in use (pages are touched as they fill)."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject IdTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kubespan.otlp._spanwalk.IdTable",
    .tp_basicsize = sizeof(IdTable),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_SEQUENCE,
    .tp_doc = "IdTable(width): fixed-width ids numbered densely in order of first sight.",
    .tp_new = PyType_GenericNew,
    .tp_init = id_table_init,
    .tp_dealloc = id_table_dealloc,
    .tp_as_sequence = &id_table_sequence,
    .tp_methods = id_table_methods,
};
