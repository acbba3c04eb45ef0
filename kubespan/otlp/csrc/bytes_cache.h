/* BytesCache: values by the bytes of a wire slice, looked up without making a bytes object.

   Kubernetes spans repeat the same attributes endlessly; the decoder and the JSON
   writer look each one up by its KeyValue bytes. A dict needs a bytes key for every
   lookup (an allocation and a hash per attribute); this table hashes the slice in
   place and makes a bytes object only on a miss, when it calls `miss(raw)` for the
   value and keeps it. Past `limit` entries (0: no limit) it starts over, empty.
*/
#ifndef KUBESPAN_BYTES_CACHE_H
#define KUBESPAN_BYTES_CACHE_H

#include "wire.h"

extern PyTypeObject BytesCacheType;

/* A new reference to the value for `key`, computed by the cache's `miss` on first sight. */
PyObject *bytes_cache_get(PyObject *cache, Slice key);

#endif
