/* kubespan.otlp._spanwalk: the compiled parts of the edge decoder and of the JSON-lines writer
   (kubespan/otlp/compiled.py). The tables they share with Python are in generated.h. */
#include "wire.h"
#include "bytes_cache.h"
#include "attr_store.h"

extern PyTypeObject IdTableType;

PyObject *scalar_key_value(PyObject *module, PyObject *raw);
PyObject *strip_attributes(PyObject *module, PyObject *args);
PyObject *join_attributes(PyObject *module, PyObject *args);
PyObject *cut_header(PyObject *module, PyObject *args);
PyObject *cut_children(PyObject *module, PyObject *args);

static PyMethodDef methods[] = {
    {"span_arrays", span_arrays, METH_VARARGS,
     "span_arrays(raw, store) -> (n, the arrays of kubespan.model.PACKED_ARRAYS as bytes, span names, event names), "
     "or None when the request is not the common case.\n\n"
     "`store` is the AttributeStore the attribute ids are interned in."},
    {"span_json_lines", span_json_lines, METH_VARARGS,
     "span_json_lines(raw, cache, affixes) -> (blob, ends), or None when the request is not the common case.\n\n"
     "`cache` is a BytesCache of each KeyValue's JSON by its bytes; `affixes` holds a (prefix, suffix) pair of UTF-8 bytes "
     "per ScopeSpans, in wire order."},
    {"count_messages", (PyCFunction)(void (*)(void))count_messages, METH_VARARGS | METH_KEYWORDS,
     "count_messages(raw, stop) -> (ResourceSpans + ScopeSpans, spans): kubespan.otlp.wire.count_messages in C."},
    {"scalar_key_value", scalar_key_value, METH_O,
     "scalar_key_value(raw) -> (key, value, type) of a KeyValue holding a string, int, double or bool (or no "
     "value), or None for anything else (the official decoder decides)."},
    {"strip_attributes", strip_attributes, METH_VARARGS,
     "strip_attributes(raw, store, ids, offsets) -> the request without its spans' attributes, or None when they "
     "are not exactly the KeyValue bytes of `ids` (int32, span i's from offsets[i] to offsets[i + 1]) in `store`."},
    {"join_attributes", join_attributes, METH_VARARGS,
     "join_attributes(span, store, ids) -> the span's bytes with the KeyValues of `ids` (int32) appended as its attributes."},
    {"cut_header", cut_header, METH_VARARGS,
     "cut_header(raw, start, end, number) -> ranges of the fields other than the length-delimited `number` ones, "
     "or None (kubespan.otlp.slices)."},
    {"cut_children", cut_children, METH_VARARGS,
     "cut_children(raw, start, end, number, largest, used, filled, limit, pending, full) -> (events, position, used, "
     "filled), or None: the request slicer's placing of whole children (kubespan.otlp.slices)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_spanwalk",
    "Span columns read straight off the OTLP wire, for the common case of the edge decoder.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__spanwalk(void) {
    if (PyType_Ready(&BytesCacheType) < 0 || PyType_Ready(&AttributeStoreType) < 0 || PyType_Ready(&IdTableType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && (PyModule_AddObjectRef(m, "BytesCache", (PyObject *)&BytesCacheType) < 0
                      || PyModule_AddObjectRef(m, "AttributeStore", (PyObject *)&AttributeStoreType) < 0
                      || PyModule_AddObjectRef(m, "IdTable", (PyObject *)&IdTableType) < 0))
        Py_CLEAR(m);
    return m;
}
