/* The request slicer's walks over a container's fields (kubespan/otlp/slices.py), in C: a flood of
   2,000,000 spans in one ScopeSpans is cut without a Python step per span.

   Fields are read as slices.py's `_fields` reads them: a varint key, then a varint, 8 or 4 bytes,
   or a length and its payload, all within the container; a group or anything else answers None
   (the slicer then leaves the request to the parser, whole). */
#include "wire.h"

typedef struct {
    Py_ssize_t start, end;          /* the whole field */
    Py_ssize_t payload, payload_end; /* its payload when length-delimited, else -1 */
    uint64_t number;
} Field;

/* A varint of at most 10 bytes ending by `end` and fitting 64 bits; 0 when not. */
static int cut_varint(const uint8_t *buf, Py_ssize_t *position, Py_ssize_t end, uint64_t *out) {
    uint64_t value = 0;
    for (int shift = 0; shift <= 63 && *position < end; shift += 7) {
        uint8_t byte = buf[(*position)++];
        if (shift == 63 && byte > 1)
            return 0;
        value |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80) {
            *out = value;
            return 1;
        }
    }
    return 0;
}

static int read_field(const uint8_t *buf, Py_ssize_t position, Py_ssize_t end, Field *f) {
    uint64_t key, value;
    f->start = position;
    f->payload = f->payload_end = -1;
    if (!cut_varint(buf, &position, end, &key))
        return 0;
    f->number = key >> 3;
    switch ((int)(key & 7)) {
    case WT_LEN:
        if (!cut_varint(buf, &position, end, &value) || value > (uint64_t)(end - position))
            return 0;
        f->payload = position;
        position += (Py_ssize_t)value;
        f->payload_end = position;
        break;
    case WT_VARINT:
        if (!cut_varint(buf, &position, end, &value))
            return 0;
        break;
    case WT_I64: case WT_I32: {
        Py_ssize_t size = (key & 7) == WT_I64 ? 8 : 4;
        if (end - position < size)
            return 0;
        position += size;
        break;
    }
    default:
        return 0;
    }
    f->end = position;
    return 1;
}

static int is_child(const Field *f, uint64_t number) { return f->number == number && f->payload >= 0; }

static int bounds(const Py_buffer *raw, Py_ssize_t start, Py_ssize_t end) {
    if (start < 0 || start > end || end > raw->len) {
        PyErr_SetString(PyExc_ValueError, "range outside the request");
        return 0;
    }
    return 1;
}

static PyObject *range_of(Py_ssize_t start, Py_ssize_t end) { return Py_BuildValue("(nn)", start, end); }

/* cut_header(raw, start, end, number) -> the ranges of the fields other than the length-delimited
   `number` ones (adjacent ones joined), or None when a field cannot be read. */
PyObject *cut_header(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer raw;
    Py_ssize_t start, end;
    unsigned long long number;
    if (!PyArg_ParseTuple(args, "y*nnK:cut_header", &raw, &start, &end, &number))
        return NULL;
    PyObject *out = bounds(&raw, start, end) ? PyList_New(0) : NULL;
    Py_ssize_t run_start = -1, run_end = -1;
    Field f;
    for (Py_ssize_t position = start; out != NULL && position < end; position = f.end) {
        if (!read_field(raw.buf, position, end, &f)) {
            Py_SETREF(out, Py_NewRef(Py_None));
            break;
        }
        if (is_child(&f, number))
            continue;
        if (run_end == f.start) {
            run_end = f.end;
            continue;
        }
        if (run_start >= 0 && !append_new(out, range_of(run_start, run_end)))
            Py_CLEAR(out);
        run_start = f.start;
        run_end = f.end;
    }
    if (out != NULL && out != Py_None && run_start >= 0 && !append_new(out, range_of(run_start, run_end)))
        Py_CLEAR(out);
    PyBuffer_Release(&raw);
    return out;
}

/* cut_children(raw, start, end, number, largest, used, filled, limit, pending, full)
       -> (events, position, used, filled), or None when a field cannot be read.

   `_Cutter.add` for each length-delimited `number` field from `start` on, as long as it is
   placed whole (at most `largest` bytes): `events` lists the ranges placed, adjacent ones
   joined, and None where the current slice ends. `used` and `filled` are the slicer's; opening
   the parts of the containers being cut costs `pending` bytes for the slice being filled (0: they
   are open) and `full` for a new one. Stops at a larger field (`position`: its start) or at `end`. */
PyObject *cut_children(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer raw;
    Py_ssize_t start, end, largest, used, limit, pending, full;
    unsigned long long number;
    int filled;
    if (!PyArg_ParseTuple(args, "y*nnKnnpnnn:cut_children", &raw, &start, &end, &number, &largest, &used, &filled,
                          &limit, &pending, &full))
        return NULL;
    PyObject *events = bounds(&raw, start, end) ? PyList_New(0) : NULL, *result = NULL;
    Py_ssize_t run_start = -1, run_end = -1, position = start;
    Field f;
#define FLUSH() (run_start < 0 || (append_new(events, range_of(run_start, run_end)) && (run_start = -1, 1)))
#define CLOSE() (FLUSH() && PyList_Append(events, Py_None) == 0 && (used = 0, filled = 0, pending = full, 1))
    while (events != NULL && position < end) {
        if (!read_field(raw.buf, position, end, &f)) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        if (!is_child(&f, number)) {
            position = f.end;
            continue;
        }
        Py_ssize_t size = f.end - f.start;
        if (size > largest)
            break;
        if (used + size > limit && filled && !CLOSE())
            goto done;
        used += pending + size;
        pending = 0;
        filled = 1;
        if (run_start >= 0 && run_end == f.start) {
            run_end = f.end;
        } else {
            if (!FLUSH())
                goto done;
            run_start = f.start;
            run_end = f.end;
        }
        position = f.end;
        if (used >= limit && !CLOSE())
            goto done;
    }
    if (events != NULL && FLUSH())
        result = Py_BuildValue("(Onni)", events, position, used, filled);
#undef FLUSH
#undef CLOSE
done:
    Py_XDECREF(events);
    PyBuffer_Release(&raw);
    return result;
}
