/* SliceSet: distinct byte strings numbered densely in order of first sight, looked up by slice.

   Small and owned by C: the keys of an attribute store, the span and event names of one
   request. The bytes are copied into one buffer; lookups hash the slice where it lies.
*/
#ifndef KUBESPAN_SLICE_SET_H
#define KUBESPAN_SLICE_SET_H

#include "slot_table.h"

typedef struct {
    uint8_t *bytes;
    size_t used, capacity;
    size_t *offsets;    /* per id: where its bytes start in `bytes` */
    Py_ssize_t *lengths;
    Py_ssize_t n, n_capacity;
    SlotTable table;    /* a slot holds an id */
} SliceSet;

static inline void slice_set_free(SliceSet *s) {
    PyMem_Free(s->bytes);
    PyMem_Free(s->offsets);
    PyMem_Free(s->lengths);
    slot_table_free(&s->table);
    memset(s, 0, sizeof *s);
}

static inline Slice slice_set_get(const SliceSet *s, Py_ssize_t id) {
    Slice out = {s->bytes + s->offsets[id], s->lengths[id]};
    return out;
}

static inline uint32_t *slice_set_slot(const SliceSet *s, Slice key, uint64_t hash) {
    for (Py_ssize_t i = slot_first(s->table.mask, hash);; i = slot_next(s->table.mask, i)) {
        uint32_t id = s->table.slots[i];
        if (id == SLOT_EMPTY)
            return &s->table.slots[i];
        if (s->lengths[id] == key.n && (key.n == 0 || memcmp(s->bytes + s->offsets[id], key.p, (size_t)key.n) == 0))
            return &s->table.slots[i];
    }
}

static inline int slice_set_rehash(SliceSet *s, Py_ssize_t capacity) {
    if (!slot_table_reset(&s->table, capacity))
        return 0;
    for (Py_ssize_t id = 0; id < s->n; id++)
        *slot_table_vacancy(&s->table, slice_hash(slice_set_get(s, id))) = (uint32_t)id;
    return 1;
}

/* The id of `key`, -1 when absent. */
static inline Py_ssize_t slice_set_find(const SliceSet *s, Slice key) {
    if (s->table.slots == NULL)
        return -1;
    uint32_t id = *slice_set_slot(s, key, slice_hash(key));
    return id == SLOT_EMPTY ? -1 : (Py_ssize_t)id;
}

/* The id of `key`, numbering it if new (*added set); -1 with MemoryError set. */
static inline Py_ssize_t slice_set_add(SliceSet *s, Slice key, int *added) {
    *added = 0;
    if (s->table.slots == NULL && !slice_set_rehash(s, 16))
        goto no_memory;
    uint64_t hash = slice_hash(key);
    uint32_t *slot = slice_set_slot(s, key, hash);
    if (*slot != SLOT_EMPTY)
        return (Py_ssize_t)*slot;
    if (s->n >= INT32_MAX)
        goto no_memory;
    if (s->used + (size_t)key.n > s->capacity) {
        size_t capacity = s->capacity ? s->capacity : 256;
        while (capacity < s->used + (size_t)key.n)
            capacity *= 2;
        uint8_t *bytes = PyMem_Realloc(s->bytes, capacity);
        if (bytes == NULL)
            goto no_memory;
        s->bytes = bytes;
        s->capacity = capacity;
    }
    if (s->n == s->n_capacity) {
        Py_ssize_t capacity = s->n_capacity ? 2 * s->n_capacity : 16;
        size_t *offsets = PyMem_Realloc(s->offsets, (size_t)capacity * sizeof *offsets);
        if (offsets == NULL)
            goto no_memory;
        s->offsets = offsets;
        Py_ssize_t *lengths = PyMem_Realloc(s->lengths, (size_t)capacity * sizeof *lengths);
        if (lengths == NULL)
            goto no_memory;
        s->lengths = lengths;
        s->n_capacity = capacity;
    }
    if (2 * (s->n + 1) > s->table.mask + 1) {  /* at most half full */
        if (!slice_set_rehash(s, 2 * (s->table.mask + 1)))
            goto no_memory;
        slot = slice_set_slot(s, key, hash);
    }
    if (key.n)
        memcpy(s->bytes + s->used, key.p, (size_t)key.n);
    s->offsets[s->n] = s->used;
    s->lengths[s->n] = key.n;
    s->used += (size_t)key.n;
    *slot = (uint32_t)s->n;
    *added = 1;
    return s->n++;
no_memory:
    PyErr_NoMemory();
    return -1;
}

#endif
