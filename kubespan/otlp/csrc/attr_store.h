/* AttributeStore: distinct attribute KeyValues by dense id, kept as their wire bytes.

   The attribute table of kubespan.model is a generation of one of these when the compiled
   decoder is built (kubespan.otlp.attributes). A million distinct attributes cost their bytes
   and about 30 more each, not a dozen Python objects: `store[i]` makes the `Attribute` when
   asked. Ids are dense and never change within a store; `compacted(keep)` makes the next
   generation, holding only the ids kept, renumbered in order.
*/
#ifndef KUBESPAN_ATTR_STORE_H
#define KUBESPAN_ATTR_STORE_H

#include "key_value.h"

extern PyTypeObject AttributeStoreType;

/* The id of the KeyValue `raw`, adding (and so validating) it on first sight; -1 with an error
   set (the store's `decode` refused it, or out of memory). */
Py_ssize_t attr_store_intern(PyObject *store, Slice raw);

/* Made by key_value.c from a parsed scalar pair. */
PyObject *scalar_triple(const ScalarKV *kv, PyObject *key);
PyObject *scalar_key_text(Slice key);

#endif
