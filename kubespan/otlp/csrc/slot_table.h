/* The slots of the compiled hash tables (slice_set.h, attr_store.c, id_table.c), written once.

   4-byte slots, a power of two of them, probed linearly from the slice hash (slice_hash.h); an
   empty slot has every bit set. What a full slot holds (an id, or an id under some hash bits),
   how full a table may get and how it compares keys are the table's own.
*/
#ifndef KUBESPAN_SLOT_TABLE_H
#define KUBESPAN_SLOT_TABLE_H

#include "slice_hash.h"

#define SLOT_EMPTY 0xFFFFFFFFu

typedef struct {
    uint32_t *slots;  /* mask + 1 of them; NULL until the first slot_table_reset */
    Py_ssize_t mask;
} SlotTable;

/* Where the probe for `hash` starts in a table of mask + 1 slots, and the slot after `i` (also for
   bytes_cache.c, whose slots are larger). */
static inline Py_ssize_t slot_first(Py_ssize_t mask, uint64_t hash) {
    return (Py_ssize_t)(hash & (uint64_t)mask);
}

static inline Py_ssize_t slot_next(Py_ssize_t mask, Py_ssize_t i) {
    return (i + 1) & mask;
}

/* `capacity` (a power of two) empty slots in place of the old ones; the table then puts its
   entries back with slot_table_vacancy. 0 with MemoryError set, the old slots kept. */
static inline int slot_table_reset(SlotTable *t, Py_ssize_t capacity) {
    uint32_t *slots = PyMem_Malloc((size_t)capacity * sizeof *slots);
    if (slots == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    memset(slots, 0xFF, (size_t)capacity * sizeof *slots);
    PyMem_Free(t->slots);
    t->slots = slots;
    t->mask = capacity - 1;
    return 1;
}

/* The first empty slot of the probe for `hash`: where an entry known to be absent goes. */
static inline uint32_t *slot_table_vacancy(const SlotTable *t, uint64_t hash) {
    Py_ssize_t i = slot_first(t->mask, hash);
    while (t->slots[i] != SLOT_EMPTY)
        i = slot_next(t->mask, i);
    return &t->slots[i];
}

/* The bytes the slots take (counted as one slot before the first reset). */
static inline size_t slot_table_nbytes(const SlotTable *t) {
    return (size_t)(t->mask + 1) * sizeof *t->slots;
}

static inline void slot_table_free(SlotTable *t) {
    PyMem_Free(t->slots);
    t->slots = NULL;
    t->mask = 0;
}

#endif
