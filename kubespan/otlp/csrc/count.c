#include "wire.h"

/* ---- count_messages: the message-bomb check, with the Python walk's semantics to the letter.

   Reads are bounded by the buffer only and loops by the message end, as in
   kubespan/otlp/wire.py; any failure ends the walk with the counts so far, and a scope
   whose spans cannot all be counted adds none of them. Positions and varints are
   128-bit so that, like Python's ints, they never wrap: a varint of ten bytes holds up
   to 70 bits. */

typedef unsigned __int128 Position;

typedef struct {
    const uint8_t *buf;
    Position size;
} Wire;

/* A varint at *position, as wire.py's _varint: 0 past the buffer or beyond 63 bits of shift. */
static int wire_varint(const Wire *w, Position *position, Position *out) {
    Position result = 0;
    for (int shift = 0;; shift += 7) {
        if (shift > 63 || *position >= w->size)
            return 0;
        uint8_t byte = w->buf[(size_t)(*position)++];
        result |= (Position)(byte & 0x7F) << shift;
        if (byte < 0x80) {
            *out = result;
            return 1;
        }
    }
}

/* One field at *position: its number and, if length-delimited, where its payload starts and ends. */
static int wire_field(const Wire *w, Position *position, Position *number, int *delimited, Position *start,
                      Position *end) {
    Position key, value;
    if (!wire_varint(w, position, &key))
        return 0;
    *number = key >> 3;
    *delimited = 0;
    switch ((int)(key & 7)) {
    case WT_LEN:
        if (!wire_varint(w, position, &value))
            return 0;
        *delimited = 1;
        *start = *position;
        *end = *position + value;
        *position = *end;
        return 1;
    case WT_VARINT:
        return wire_varint(w, position, &value);
    case WT_I64:
        *position += 8;
        return 1;
    case WT_I32:
        *position += 4;
        return 1;
    default:
        return 0;
    }
}

/* Spans (field 2) in one ScopeSpans: -1 when they cannot all be read, else the count, early past `stop`. */
static long long wire_count_spans(const Wire *w, Position position, Position end, long long stop) {
    long long count = 0;
    Position number, start, stop_at;
    int delimited;
    while (position < end) {
        if (!wire_field(w, &position, &number, &delimited, &start, &stop_at))
            return -1;
        if (delimited && number == 2 && ++count > stop)
            return count;
    }
    return position == end ? count : -1;
}

PyObject *count_messages(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"raw", "stop", NULL};
    Py_buffer raw;
    long long stop, containers = 0, spans = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*L:count_messages", keywords, &raw, &stop))
        return NULL;
    Wire w = {raw.buf, (Position)raw.len};
    Position position = 0, number, rs_start, rs_end, ss_start, ss_end;
    int delimited;
    while (position < w.size) {
        if (!wire_field(&w, &position, &number, &delimited, &rs_start, &rs_end))
            goto done;
        if (!delimited || number != 1)
            continue;
        containers++;
        Position inner = rs_start;
        while (inner < rs_end) {
            if (!wire_field(&w, &inner, &number, &delimited, &ss_start, &ss_end))
                goto done;
            if (!delimited || number != 2)
                continue;
            containers++;
            long long counted = wire_count_spans(&w, ss_start, ss_end, stop - spans);
            if (counted < 0)
                goto done;
            spans += counted;
            if (spans > stop || containers > stop)
                goto done;
        }
        if (inner != rs_end || containers > stop)
            goto done;
    }
done:
    PyBuffer_Release(&raw);
    return Py_BuildValue("LL", containers, spans);
}

