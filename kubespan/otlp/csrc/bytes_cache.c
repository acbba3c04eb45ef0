#include "bytes_cache.h"
#include "slot_table.h"

typedef struct {  /* 16 bytes: the hash is not kept, a table of many attributes stays small */
    PyObject *key;   /* bytes, NULL in an empty slot */
    PyObject *value;
} Entry;

typedef struct {
    PyObject_HEAD
    Entry *entries;
    Py_ssize_t mask;  /* capacity - 1, capacity a power of two */
    Py_ssize_t used;
    Py_ssize_t limit;
    PyObject *miss;
} BytesCache;

#define INITIAL_CAPACITY 1024

static void clear_entries(BytesCache *cache) {
    if (cache->entries == NULL)
        return;
    for (Py_ssize_t i = 0; i <= cache->mask; i++) {
        Py_CLEAR(cache->entries[i].key);
        Py_CLEAR(cache->entries[i].value);
    }
    cache->used = 0;
}

static int allocate(BytesCache *cache, Py_ssize_t capacity) {
    Entry *entries = PyMem_Calloc((size_t)capacity, sizeof(Entry));
    if (entries == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    PyMem_Free(cache->entries);
    cache->entries = entries;
    cache->mask = capacity - 1;
    return 1;
}

static Entry *find_slot(Entry *entries, Py_ssize_t mask, uint64_t hash, Slice key) {
    for (Py_ssize_t i = slot_first(mask, hash);; i = slot_next(mask, i)) {
        Entry *entry = &entries[i];
        if (entry->key == NULL)
            return entry;
        if (PyBytes_GET_SIZE(entry->key) == key.n
            && memcmp(PyBytes_AS_STRING(entry->key), key.p, (size_t)key.n) == 0)
            return entry;
    }
}

static int grow(BytesCache *cache) {
    Entry *old = cache->entries;
    Py_ssize_t old_mask = cache->mask;
    Entry *entries = PyMem_Calloc((size_t)(2 * (old_mask + 1)), sizeof(Entry));
    if (entries == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    Py_ssize_t mask = 2 * (old_mask + 1) - 1;
    for (Py_ssize_t i = 0; i <= old_mask; i++) {
        if (old[i].key == NULL)
            continue;
        Slice key = {(const uint8_t *)PyBytes_AS_STRING(old[i].key), PyBytes_GET_SIZE(old[i].key)};
        *find_slot(entries, mask, slice_hash(key), key) = old[i];
    }
    PyMem_Free(old);
    cache->entries = entries;
    cache->mask = mask;
    return 1;
}

PyObject *bytes_cache_get(PyObject *self, Slice key) {
    BytesCache *cache = (BytesCache *)self;
    if (cache->miss == NULL || cache->entries == NULL) {
        PyErr_SetString(PyExc_ValueError, "BytesCache is not initialized");
        return NULL;
    }
    uint64_t hash = slice_hash(key);
    Entry *entry = find_slot(cache->entries, cache->mask, hash, key);
    if (entry->key != NULL)
        return Py_NewRef(entry->value);
    PyObject *raw = PyBytes_FromStringAndSize((const char *)(key.p ? key.p : (const uint8_t *)""), key.n);
    if (raw == NULL)
        return NULL;
    PyObject *value = PyObject_CallOneArg(cache->miss, raw);
    if (value == NULL) {
        Py_DECREF(raw);
        return NULL;
    }
    if (cache->limit && cache->used >= cache->limit)
        clear_entries(cache);
    if ((cache->used + 1) * 3 > (cache->mask + 1) * 2 && !grow(cache)) {
        Py_DECREF(raw);
        Py_DECREF(value);
        return NULL;
    }
    entry = find_slot(cache->entries, cache->mask, hash, key);  /* the miss may have changed the table */
    if (entry->key == NULL) {
        entry->key = raw;
        entry->value = Py_NewRef(value);
        cache->used++;
    } else {
        Py_DECREF(raw);
    }
    return value;
}

static int cache_init(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"miss", "limit", NULL};
    BytesCache *cache = (BytesCache *)self;
    PyObject *miss;
    Py_ssize_t limit = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|n:BytesCache", keywords, &miss, &limit))
        return -1;
    if (!PyCallable_Check(miss) || limit < 0) {
        PyErr_SetString(PyExc_TypeError, "BytesCache(miss, limit=0): miss must be callable, limit 0 or more");
        return -1;
    }
    clear_entries(cache);
    if (cache->entries == NULL && !allocate(cache, INITIAL_CAPACITY))
        return -1;
    Py_XSETREF(cache->miss, Py_NewRef(miss));
    cache->limit = limit;
    return 0;
}

static int cache_traverse(PyObject *self, visitproc visit, void *arg) {
    BytesCache *cache = (BytesCache *)self;
    Py_VISIT(cache->miss);
    if (cache->entries != NULL)
        for (Py_ssize_t i = 0; i <= cache->mask; i++)
            Py_VISIT(cache->entries[i].value);
    return 0;
}

static int cache_clear(PyObject *self) {
    BytesCache *cache = (BytesCache *)self;
    clear_entries(cache);
    Py_CLEAR(cache->miss);
    return 0;
}

static void cache_dealloc(PyObject *self) {
    PyObject_GC_UnTrack(self);
    cache_clear(self);
    PyMem_Free(((BytesCache *)self)->entries);
    Py_TYPE(self)->tp_free(self);
}

static Py_ssize_t cache_length(PyObject *self) { return ((BytesCache *)self)->used; }

static PyObject *cache_getitem(PyObject *self, PyObject *key) {
    Py_buffer view;
    if (PyObject_GetBuffer(key, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Slice slice = {view.buf, view.len};
    PyObject *value = bytes_cache_get(self, slice);
    PyBuffer_Release(&view);
    return value;
}

static PyObject *cache_empty(PyObject *self, PyObject *Py_UNUSED(ignored)) {
    clear_entries((BytesCache *)self);
    Py_RETURN_NONE;
}

static PyMappingMethods cache_mapping = {cache_length, cache_getitem, NULL};

static PyMethodDef cache_methods[] = {
    {"clear", cache_empty, METH_NOARGS, "Forget every entry."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject BytesCacheType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kubespan.otlp._spanwalk.BytesCache",
    .tp_basicsize = sizeof(BytesCache),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "BytesCache(miss, limit=0): cache[raw] is miss(raw), computed once per distinct raw bytes.",
    .tp_new = PyType_GenericNew,
    .tp_init = cache_init,
    .tp_traverse = cache_traverse,
    .tp_clear = cache_clear,
    .tp_dealloc = cache_dealloc,
    .tp_as_mapping = &cache_mapping,
    .tp_methods = cache_methods,
};
