/* kubespan.otlp._spanwalk: the compiled parts of the edge decoder and of the JSON-lines writer
   (kubespan/otlp/compiled.py). The tables they share with Python are in generated.h. */
#include "wire.h"
#include "bytes_cache.h"

PyObject *scalar_key_value(PyObject *module, PyObject *raw);

static PyMethodDef methods[] = {
    {"span_columns", span_columns, METH_VARARGS,
     "span_columns(raw, ids) -> (trace_id, span_id, parent_id, name, kind, start, end, status, "
     "scope, attribute_ids, event_names) lists, or None when the request is not the common case.\n\n"
     "`ids` is a BytesCache of attribute ids by KeyValue bytes (its miss interns one)."},
    {"span_json_lines", span_json_lines, METH_VARARGS,
     "span_json_lines(raw, cache, affixes) -> (blob, ends), or None when the request is not the common case.\n\n"
     "`cache` is a BytesCache of each KeyValue's JSON by its bytes; `affixes` holds a (prefix, suffix) pair of UTF-8 bytes "
     "per ScopeSpans, in wire order."},
    {"count_messages", (PyCFunction)(void (*)(void))count_messages, METH_VARARGS | METH_KEYWORDS,
     "count_messages(raw, stop) -> (ResourceSpans + ScopeSpans, spans): kubespan.otlp.wire.count_messages in C."},
    {"scalar_key_value", scalar_key_value, METH_O,
     "scalar_key_value(raw) -> (key, value, type) of a KeyValue holding a string, int, double or bool (or no "
     "value), or None for anything else (the official decoder decides)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_spanwalk",
    "Span columns read straight off the OTLP wire, for the common case of the edge decoder.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__spanwalk(void) {
    if (PyType_Ready(&BytesCacheType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddObjectRef(m, "BytesCache", (PyObject *)&BytesCacheType) < 0)
        Py_CLEAR(m);
    return m;
}
