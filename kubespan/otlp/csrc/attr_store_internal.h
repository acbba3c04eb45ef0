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
#define DECODED 0x80000000u  /* the entry's Attribute was made by `decode` and is kept in `extras` */
#define ODD 0x40000000u      /* not the canonical bytes of a scalar: equality lookups list it apart */
#define KEY_MASK 0x3FFFFFFFu

typedef struct {
    uint64_t loc;   /* block << 32 | offset of the entry's length-prefixed bytes */
    uint32_t hash;  /* low half of slice_hash(bytes) */
    uint32_t key;   /* key id, and the flags above */
} Entry;

typedef struct {
    PyObject_HEAD
    Entry **pages;
    Py_ssize_t n_pages, n;
    uint8_t **blocks;
    Py_ssize_t n_blocks, block_capacity, current;  /* current: the block being filled, -1: none */
    size_t current_used, arena_bytes;
    int32_t *slots;  /* id per slot, -1 empty; mask + 1 slots, a power of two */
    Py_ssize_t mask;
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
    Cursor c = {s->blocks[e->loc >> 32] + (e->loc & 0xFFFFFFFFu), NULL};
    c.end = c.p + 10;
    uint64_t length = 0;
    read_varint(&c, &length);  /* written by append_bytes: always well formed */
    Slice out = {c.p, (Py_ssize_t)length};
    return out;
}

int32_t *attr_find_slot(const AttrStore *s, Slice raw, uint32_t hash);
int attr_rehash(AttrStore *s, Py_ssize_t capacity);
Py_ssize_t attr_key_id(AttrStore *s, Slice key, PyObject *text);
Py_ssize_t attr_add_entry(AttrStore *s, Slice raw, uint32_t hash, uint32_t key, PyObject *decoded);
void attr_free_storage(AttrStore *s);

#endif
