/* An AttributeStore's storage: ids by KeyValue bytes, the bytes in an arena, interning (attr_store.h). */
#include "attr_store_internal.h"

uint32_t *attr_find_slot(const AttrStore *s, Slice raw, uint32_t hash) {
    uint32_t tag = HASH_TAG(hash);
    for (Py_ssize_t i = slot_first(s->table.mask, hash);; i = slot_next(s->table.mask, i)) {
        uint32_t slot = s->table.slots[i];
        if (slot == SLOT_EMPTY)
            return &s->table.slots[i];
        if (HASH_TAG(slot) == tag) {
            Slice known = entry_bytes(s, entry_at(s, SLOT_ID(slot)));
            if (known.n == raw.n && (raw.n == 0 || memcmp(known.p, raw.p, (size_t)raw.n) == 0))
                return &s->table.slots[i];
        }
    }
}

Py_ssize_t attr_find(const AttrStore *s, Slice raw) {
    uint32_t slot = *attr_find_slot(s, raw, (uint32_t)slice_hash(raw));
    return slot == SLOT_EMPTY ? -1 : SLOT_ID(slot);
}

int attr_rehash(AttrStore *s, Py_ssize_t capacity) {
    if (!slot_table_reset(&s->table, capacity))
        return 0;
    for (Py_ssize_t id = 0; id < s->n; id++) {
        uint32_t hash = (uint32_t)slice_hash(entry_bytes(s, entry_at(s, id)));
        *slot_table_vacancy(&s->table, hash) = HASH_TAG(hash) | (uint32_t)id;
    }
    return 1;
}

/* Room for one more id (a new page when needed) and a slot table under 2/3 full. */
static int make_room(AttrStore *s) {
    if (s->n >= MAX_IDS) {
        PyErr_SetString(PyExc_OverflowError, "too many distinct attributes");
        return 0;
    }
    if ((s->n & (PAGE_SIZE - 1)) == 0 && (s->n >> PAGE_BITS) == s->n_pages) {
        Entry **pages = PyMem_RawRealloc(s->pages, (size_t)(s->n_pages + 1) * sizeof *pages);
        if (pages == NULL)
            goto no_memory;
        s->pages = pages;
        if ((pages[s->n_pages] = PyMem_RawMalloc(PAGE_BYTES)) == NULL)
            goto no_memory;
        s->n_pages++;
    }
    if (3 * (s->n + 1) > 2 * (s->table.mask + 1))
        return attr_rehash(s, 2 * (s->table.mask + 1));
    return 1;
no_memory:
    PyErr_NoMemory();
    return 0;
}

uint8_t *attr_arena_room(AttrStore *s, size_t need, uint64_t *loc) {
    if (s->n_blocks == s->block_capacity) {
        Py_ssize_t capacity = s->block_capacity ? 2 * s->block_capacity : 16;
        uint8_t **blocks = PyMem_RawRealloc(s->blocks, (size_t)capacity * sizeof *blocks);
        if (blocks == NULL)
            return NULL;
        s->blocks = blocks;
        s->block_capacity = capacity;
    }
    Py_ssize_t block;
    size_t offset;
    if (need > OWN_BLOCK) {
        if ((s->blocks[s->n_blocks] = PyMem_RawMalloc(need)) == NULL)
            return NULL;
        block = s->n_blocks++;
        offset = 0;
    } else {
        if (s->current < 0 || s->current_used + need > BLOCK_SIZE) {
            if ((s->blocks[s->n_blocks] = PyMem_RawMalloc(BLOCK_SIZE)) == NULL)
                return NULL;
            s->current = s->n_blocks++;
            s->current_used = 0;
        }
        block = s->current;
        offset = s->current_used;
        s->current_used += need;
    }
    s->arena_bytes += need;
    *loc = (uint64_t)block << 32 | (uint64_t)offset;
    return s->blocks[block] + offset;
}

/* Copy `raw` into the arena, length-prefixed; its location, or UINT64_MAX with MemoryError. */
static uint64_t append_bytes(AttrStore *s, Slice raw) {
    uint8_t prefix[10];
    size_t prefix_n = 0;
    for (uint64_t v = (uint64_t)raw.n;; v >>= 7) {
        prefix[prefix_n++] = (uint8_t)(v < 0x80 ? v : (v & 0x7F) | 0x80);
        if (v < 0x80)
            break;
    }
    uint64_t loc;
    uint8_t *to = attr_arena_room(s, prefix_n + (size_t)raw.n, &loc);
    if (to == NULL) {
        PyErr_NoMemory();
        return UINT64_MAX;
    }
    memcpy(to, prefix, prefix_n);
    if (raw.n)
        memcpy(to + prefix_n, raw.p, (size_t)raw.n);
    return loc;
}

/* The id of a key (its UTF-8 bytes), numbering it when new; -1 with an error set. */
Py_ssize_t attr_key_id(AttrStore *s, Slice key, PyObject *text) {
    int added;
    Py_ssize_t id = slice_set_add(&s->keys, key, &added);
    if (id < 0 || !added)
        return id;
    PyObject *made = text != NULL ? Py_NewRef(text) : scalar_key_text(key);
    if (made == NULL || PyList_Append(s->key_texts, made) < 0) {
        Py_XDECREF(made);
        return -1;  /* the key stays numbered without its text: the store is not usable further */
    }
    Py_DECREF(made);
    return id;
}

/* Add an entry for `raw` (known to be absent); its id or -1. `decoded` is kept (a new reference). */
Py_ssize_t attr_add_entry(AttrStore *s, Slice raw, uint32_t hash, uint64_t flags, int32_t key, PyObject *decoded) {
    if (!make_room(s))
        return -1;
    uint64_t loc = append_bytes(s, raw);
    if (loc == UINT64_MAX)
        return -1;
    Py_ssize_t id = s->n;
    if (decoded != NULL) {
        PyObject *index = PyLong_FromSsize_t(id);
        int failed = index == NULL || PyDict_SetItem(s->extras, index, decoded) < 0;
        Py_XDECREF(index);
        if (failed)
            return -1;
    }
    *entry_at(s, id) = loc | flags;
    *key_at(s, id) = key;
    *attr_find_slot(s, raw, hash) = HASH_TAG(hash) | (uint32_t)id;
    s->n++;
    return id;
}

/* The id of the key of an Attribute made by `decode`, numbering it when new; -1 with an error set. */
static Py_ssize_t text_key_id(AttrStore *s, PyObject *key) {
    Py_ssize_t n;
    const char *utf8 = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, &n) : NULL;
    if (utf8 == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "decode must return an Attribute with a str key");
        return -1;
    }
    Slice slice = {(const uint8_t *)utf8, n};
    return attr_key_id(s, slice, key);
}

Py_ssize_t attr_store_intern(PyObject *self, Slice raw) {
    AttrStore *s = (AttrStore *)self;
    if (s->table.slots == NULL) {
        PyErr_SetString(PyExc_ValueError, "AttributeStore is not initialized");
        return -1;
    }
    uint32_t hash = (uint32_t)slice_hash(raw);
    uint32_t found = *attr_find_slot(s, raw, hash);
    if (found != SLOT_EMPTY)
        return SLOT_ID(found);
    ScalarKV kv;
    if (parse_scalar_kv(raw, &kv)) {
        Py_ssize_t key = attr_key_id(s, kv.key, NULL);
        return key < 0 ? -1 : attr_add_entry(s, raw, hash, kv.canonical ? 0 : ODD, (int32_t)key, NULL);
    }
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)(raw.p ? raw.p : (const uint8_t *)""), raw.n);
    if (bytes == NULL)
        return -1;
    PyObject *decoded = PyObject_CallOneArg(s->decode, bytes);
    Py_DECREF(bytes);
    if (decoded == NULL)
        return -1;
    Py_ssize_t id = attr_find(s, raw);  /* `decode` ran Python code: another thread may have added it */
    if (id < 0) {
        PyObject *key = PyObject_GetAttrString(decoded, "key");
        Py_ssize_t key_id = key == NULL ? -1 : text_key_id(s, key);
        Py_XDECREF(key);
        id = key_id < 0 ? -1 : attr_add_entry(s, raw, hash, DECODED | ODD, (int32_t)key_id, decoded);
    }
    Py_DECREF(decoded);
    return id;
}

void attr_free_storage(AttrStore *s) {
    for (Py_ssize_t i = 0; i < s->n_pages; i++)
        PyMem_RawFree(s->pages[i]);
    PyMem_RawFree(s->pages);
    for (Py_ssize_t i = 0; i < s->n_blocks; i++)
        PyMem_RawFree(s->blocks[i]);
    PyMem_RawFree(s->blocks);
    slot_table_free(&s->table);
    slice_set_free(&s->keys);
    s->pages = NULL;
    s->blocks = NULL;
    s->n = s->n_pages = s->n_blocks = s->block_capacity = 0;
}

