/* The inside of an AttributeStore, shared by its storage (attr_store.c) and its Python type
   (attr_store_type.c). */
#ifndef KUBESPAN_ATTR_STORE_INTERNAL_H
#define KUBESPAN_ATTR_STORE_INTERNAL_H

#include "attr_store.h"
#include "slice_set.h"

/* Ids live in pages: PAGE_SIZE entries, then the key id of each (int32). Each entry's bytes are in
   1 MiB blocks (bigger ones in a block of their own), length-prefixed. Both are allocated whole,
   with the raw allocator (a compaction copies them without the GIL), and freed whole. An entry,
   its key id and its bytes never change once its id is given out. */
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

#define PAGE_BYTES ((size_t)PAGE_SIZE * (sizeof(Entry) + sizeof(int32_t)))

static inline int32_t *key_in_page(Entry *page, Py_ssize_t id) {
    return (int32_t *)(page + PAGE_SIZE) + (id & (PAGE_SIZE - 1));
}

/* The key id of entry `id` (an id of the store's `keys`). */
static inline int32_t *key_at(const AttrStore *s, Py_ssize_t id) {
    return key_in_page(s->pages[id >> PAGE_BITS], id);
}

/* Where an entry's length-prefixed bytes start in `blocks`. */
static inline const uint8_t *entry_start(uint8_t *const *blocks, Entry e) {
    uint64_t loc = e & LOC_MASK;
    return blocks[loc >> 32] + (loc & 0xFFFFFFFFu);
}

/* The bytes of an entry starting at `p` (written by append_bytes: always well formed); *prefix: the
   length prefix's size. */
static inline Slice prefixed_bytes(const uint8_t *p, size_t *prefix) {
    Cursor c = {p, p + 10};
    uint64_t length = 0;
    read_varint(&c, &length);
    *prefix = (size_t)(c.p - p);
    Slice out = {c.p, (Py_ssize_t)length};
    return out;
}

static inline Slice entry_bytes(const AttrStore *s, const Entry *e) {
    size_t prefix;
    return prefixed_bytes(entry_start(s->blocks, *e), &prefix);
}

/* The slot of `raw`: its id's, or the empty one where it would go. */
uint32_t *attr_find_slot(const AttrStore *s, Slice raw, uint32_t hash);
/* The id of `raw`, -1 when absent. */
Py_ssize_t attr_find(const AttrStore *s, Slice raw);
int attr_rehash(AttrStore *s, Py_ssize_t capacity);
Py_ssize_t attr_key_id(AttrStore *s, Slice key, PyObject *text);
Py_ssize_t attr_add_entry(AttrStore *s, Slice raw, uint32_t hash, uint64_t flags, int32_t key, PyObject *decoded);
/* Room for `need` more bytes in the arena's current block (or a block of their own); where they go,
   or NULL (no error set: it may run without the GIL). */
uint8_t *attr_arena_room(AttrStore *s, size_t need, uint64_t *loc);
void attr_free_storage(AttrStore *s);
/* compacted(keep) of the Python type (attr_store_compact.c). */
PyObject *attr_store_compacted(PyObject *self, PyObject *arg);

#endif
