/* compacted(keep): the next generation of an AttributeStore (attr_store.h).

   The copy of the kept entries (their bytes, key ids and hash slots) runs without the GIL, so a
   compaction of a million attributes does not stop the other threads. That is safe because:
   - the old store's entries, key ids and bytes below its length never change: interning, which
     other threads may do meanwhile, only appends, and may move the arrays of page and block
     pointers, so the copy reads them through copies of those arrays taken with the GIL (pages
     and blocks are freed only with the store, and the copy holds a reference to it);
   - the new store is nobody else's until it is returned, and its pages, slot table and the
     copy's own arrays are allocated before the GIL is released; blocks allocated meanwhile use
     the raw allocator, which needs no GIL.
   Keys and the Attributes `decode` made are Python objects: they are carried over after the
   copy, with the GIL.
*/
#include "attr_store_internal.h"

enum { COPY_OK = 1, COPY_NO_MEMORY = 0, COPY_UNREADABLE = -1 };

typedef struct {
    Entry **pages;       /* the old store's page and block pointers, as they were */
    uint8_t **blocks;
    const int64_t *keep;
    Py_ssize_t count;
    int32_t *key_map;    /* old key id -> new key id, -1 until met */
    int32_t *key_order;  /* new key id -> old key id */
    Py_ssize_t old_keys, n_keys;
    Py_ssize_t *decoded; /* new ids whose Attribute `decode` made (kept in the old store's extras) */
    Py_ssize_t decoded_capacity, n_decoded;
} Copy;

static int check_keep(const int64_t *keep, Py_ssize_t count, Py_ssize_t n) {
    int64_t previous = -1;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (keep[i] <= previous || keep[i] >= n) {
            PyErr_SetString(PyExc_ValueError, "compacted(keep): ids must ascend and exist");
            return 0;
        }
        previous = keep[i];
    }
    return 1;
}

/* Pages for `count` ids and a slot table holding them under 2/3 full, in the new store `t`. */
static int presize(AttrStore *t, Py_ssize_t count) {
    Py_ssize_t capacity = t->table.mask + 1;
    while (2 * capacity < 3 * (count + 1))
        capacity *= 2;
    if (capacity != t->table.mask + 1 && !slot_table_reset(&t->table, capacity))
        return 0;
    Py_ssize_t n_pages = (count + PAGE_SIZE - 1) >> PAGE_BITS;
    if (n_pages == 0)
        return 1;
    if ((t->pages = PyMem_RawCalloc((size_t)n_pages, sizeof *t->pages)) == NULL)
        goto no_memory;
    for (; t->n_pages < n_pages; t->n_pages++)
        if ((t->pages[t->n_pages] = PyMem_RawMalloc(PAGE_BYTES)) == NULL)
            goto no_memory;
    return 1;
no_memory:
    PyErr_NoMemory();
    return 0;
}

/* The copy proper: no Python object, no GIL. */
static int copy_entries(AttrStore *t, Copy *c) {
    for (Py_ssize_t i = 0; i < c->count; i++) {
        Py_ssize_t id = (Py_ssize_t)c->keep[i];
        Entry *page = c->pages[id >> PAGE_BITS];
        Entry e = page[id & (PAGE_SIZE - 1)];
        int32_t old_key = *key_in_page(page, id);
        if (old_key < 0 || old_key >= c->old_keys)
            return COPY_UNREADABLE;
        int32_t key = c->key_map[old_key];
        if (key < 0) {
            key = c->key_map[old_key] = (int32_t)c->n_keys;
            c->key_order[c->n_keys++] = old_key;
        }
        if (e & DECODED) {
            if (c->n_decoded == c->decoded_capacity)
                return COPY_UNREADABLE;
            c->decoded[c->n_decoded++] = i;
        }
        const uint8_t *from = entry_start(c->blocks, e);
        size_t prefix;
        Slice raw = prefixed_bytes(from, &prefix);
        uint64_t loc;
        uint8_t *to = attr_arena_room(t, prefix + (size_t)raw.n, &loc);
        if (to == NULL)
            return COPY_NO_MEMORY;
        memcpy(to, from, prefix + (size_t)raw.n);
        Entry *new_page = t->pages[i >> PAGE_BITS];
        new_page[i & (PAGE_SIZE - 1)] = loc | (e & (DECODED | ODD));
        *key_in_page(new_page, i) = key;
        uint32_t hash = (uint32_t)slice_hash(raw);
        *slot_table_vacancy(&t->table, hash) = HASH_TAG(hash) | (uint32_t)i;
    }
    return COPY_OK;
}

/* The keys met, in the order met, and the Attributes `decode` made, carried into `t` (with the GIL). */
static int carry_objects(const AttrStore *s, AttrStore *t, const Copy *c) {
    for (Py_ssize_t j = 0; j < c->n_keys; j++) {
        Py_ssize_t old = c->key_order[j];
        if (old >= PyList_GET_SIZE(s->key_texts)) {
            PyErr_SetString(PyExc_RuntimeError, "AttributeStore holds a key without its text");
            return 0;
        }
        if (attr_key_id(t, slice_set_get(&s->keys, old), PyList_GET_ITEM(s->key_texts, old)) != j)
            return 0;
    }
    for (Py_ssize_t j = 0; j < c->n_decoded; j++) {
        Py_ssize_t made_id = c->decoded[j];
        PyObject *old = PyLong_FromLongLong(c->keep[made_id]), *new = PyLong_FromSsize_t(made_id);
        PyObject *attribute = old == NULL ? NULL : PyDict_GetItemWithError(s->extras, old);
        if (attribute == NULL && !PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "AttributeStore lost a decoded attribute");
        int failed = attribute == NULL || new == NULL || PyDict_SetItem(t->extras, new, attribute) < 0;
        Py_XDECREF(old);
        Py_XDECREF(new);
        if (failed)
            return 0;
    }
    return 1;
}

static int copy_store(AttrStore *s, AttrStore *t, const int64_t *keep, Py_ssize_t count) {
    Copy c = {.keep = keep, .count = count, .old_keys = s->keys.n};
    Py_ssize_t extras = PyDict_Size(s->extras);
    int ok = 0, copied;
    c.pages = PyMem_RawMalloc((size_t)(s->n_pages + 1) * sizeof *c.pages);
    c.blocks = PyMem_RawMalloc((size_t)(s->n_blocks + 1) * sizeof *c.blocks);
    c.key_map = PyMem_RawMalloc((size_t)(c.old_keys + 1) * sizeof *c.key_map);
    c.key_order = PyMem_RawMalloc((size_t)(c.old_keys + 1) * sizeof *c.key_order);
    c.decoded = PyMem_RawMalloc((size_t)(extras + 1) * sizeof *c.decoded);
    c.decoded_capacity = extras;
    if (extras < 0 || c.pages == NULL || c.blocks == NULL || c.key_map == NULL || c.key_order == NULL
        || c.decoded == NULL) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    if (s->n_pages)
        memcpy(c.pages, s->pages, (size_t)s->n_pages * sizeof *c.pages);
    if (s->n_blocks)
        memcpy(c.blocks, s->blocks, (size_t)s->n_blocks * sizeof *c.blocks);
    memset(c.key_map, 0xFF, (size_t)(c.old_keys + 1) * sizeof *c.key_map);
    Py_BEGIN_ALLOW_THREADS
    copied = copy_entries(t, &c);
    Py_END_ALLOW_THREADS
    if (copied == COPY_NO_MEMORY)
        PyErr_NoMemory();
    else if (copied == COPY_UNREADABLE)
        PyErr_SetString(PyExc_RuntimeError, "AttributeStore holds an unreadable attribute");
    else if (carry_objects(s, t, &c)) {
        t->n = count;
        ok = 1;
    }
done:
    PyMem_RawFree(c.pages);
    PyMem_RawFree(c.blocks);
    PyMem_RawFree(c.key_map);
    PyMem_RawFree(c.key_order);
    PyMem_RawFree(c.decoded);
    return ok;
}

PyObject *attr_store_compacted(PyObject *self, PyObject *arg) {
    AttrStore *s = (AttrStore *)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const int64_t *keep = view.buf;
    Py_ssize_t count = view.len / (Py_ssize_t)sizeof(int64_t);
    PyObject *made = NULL;
    Py_INCREF(self);
    if (s->table.slots == NULL)
        PyErr_SetString(PyExc_ValueError, "AttributeStore is not initialized");
    else if (check_keep(keep, count, s->n))
        made = PyObject_CallFunctionObjArgs((PyObject *)Py_TYPE(self), s->decode, s->factory, NULL);
    if (made != NULL && (!presize((AttrStore *)made, count) || !copy_store(s, (AttrStore *)made, keep, count)))
        Py_CLEAR(made);
    Py_DECREF(self);
    PyBuffer_Release(&view);
    return made;
}
