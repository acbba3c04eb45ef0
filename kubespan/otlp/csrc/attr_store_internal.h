/* The inside of an AttributeStore, shared by its storage (attr_store.c) and its Python type
   (attr_store_type.c). */
#ifndef KUBESPAN_ATTR_STORE_INTERNAL_H
#define KUBESPAN_ATTR_STORE_INTERNAL_H

#include "attr_store.h"
#include "slice_set.h"

/* Ids live in pages of entries; each entry's bytes in 1 MiB blocks (bigger ones in a block of
   their own), length-prefixed. Both are allocated whole, so a compaction frees them whole. */
#define PAGE_BITS 14
#define PAGE_SIZE ((Py_ssize_t)1 << PAGE_BITS)
#define BLOCK_SIZE ((size_t)1 << 20)
#define OWN_BLOCK (BLOCK_SIZE / 8)
#define DECODED ((uint64_t)1 << 63)  /* the entry's Attribute was made by `decode` and is kept in `extras` */
#define ODD ((uint64_t)1 << 62)      /* not the canonical bytes of a scalar: equality lookups list it apart */
#define LOC_MASK (((uint64_t)1 << 56) - 1)

/* An entry: block << 32 | offset of its length-prefixed bytes, and the flags above. */
typedef uint64_t Entry;

/* A slot (slot_table.h): SLOT_EMPTY, or the id in the low ID_BITS and the top bits of the bytes' hash
   above them, so a probe rarely reads an entry's bytes for nothing. */
#define ID_BITS 27
#define MAX_IDS (((Py_ssize_t)1 << ID_BITS) - 1)
#define SLOT_ID(slot) ((Py_ssize_t)((slot) & (((uint32_t)1 << ID_BITS) - 1)))
#define HASH_TAG(hash) ((hash) >> ID_BITS << ID_BITS)

typedef struct {
    PyObject_HEAD
    Entry **pages;
    Py_ssize_t n_pages, n;
    uint8_t **blocks;
    Py_ssize_t n_blocks, block_capacity, current;  /* current: the block being filled, -1: none */
    size_t current_used, arena_bytes;
    SlotTable table;  /* at most 2/3 full */
    SliceSet keys;
    PyObject *key_texts;  /* list: the key str by key id */
    PyObject *extras;     /* dict: id -> the Attribute `decode` made */
    PyObject *decode;     /* raw -> Attribute, for what is not a scalar (raises to refuse it) */
    PyObject *factory;    /* (key, value, type) -> Attribute */
} AttrStore;

static inline Entry *entry_at(const AttrStore *s, Py_ssize_t id) {
    return &s->pages[id >> PAGE_BITS][id & (PAGE_SIZE - 1)];
}

static inline Slice entry_bytes(const AttrStore *s, const Entry *e) {
    uint64_t loc = *e & LOC_MASK;
    Cursor c = {s->blocks[loc >> 32] + (loc & 0xFFFFFFFFu), NULL};
    c.end = c.p + 10;
    uint64_t length = 0;
    read_varint(&c, &length);  /* written by append_bytes: always well formed */
    Slice out = {c.p, (Py_ssize_t)length};
    return out;
}

/* The slot of `raw`: its id's, or the empty one where it would go. */
uint32_t *attr_find_slot(const AttrStore *s, Slice raw, uint32_t hash);
/* The id of `raw`, -1 when absent. */
Py_ssize_t attr_find(const AttrStore *s, Slice raw);
int attr_rehash(AttrStore *s, Py_ssize_t capacity);
Py_ssize_t attr_key_id(AttrStore *s, Slice key, PyObject *text);
/* The key id of entry `id`; -1 with an error set. */
Py_ssize_t attr_entry_key(const AttrStore *s, Py_ssize_t id);
Py_ssize_t attr_add_entry(AttrStore *s, Slice raw, uint32_t hash, uint64_t flags, PyObject *decoded);
void attr_free_storage(AttrStore *s);

#endif
