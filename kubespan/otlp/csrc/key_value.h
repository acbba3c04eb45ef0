/* Reading one attribute's KeyValue off the wire without making Python objects.

   `parse_scalar_kv` accepts exactly what key_value.c's `scalar_key_value` always accepted: a
   KeyValue holding a string, int, double or bool (or no value), each field at most once, strings
   valid UTF-8 as Python's strict decoder and upb read it. Anything else is "not the common case"
   and the official KeyValue decoder decides. It also says whether the bytes are the canonical
   encoding protobuf's serializer writes for that (key, value), which equality lookups rely on.
*/
#ifndef KUBESPAN_KEY_VALUE_H
#define KUBESPAN_KEY_VALUE_H

#include "wire.h"

enum { KV_KEY = 1, KV_VALUE = 2 };
enum { AV_NONE = 0, AV_STRING = 1, AV_BOOL = 2, AV_INT = 3, AV_DOUBLE = 4 };

typedef struct {
    Slice key;
    int field;       /* AV_*: which AnyValue field holds the value (AV_NONE: no value) */
    Slice text;      /* AV_STRING: the UTF-8 bytes */
    uint64_t bits;   /* AV_BOOL, AV_INT: the varint; AV_DOUBLE: the 8 bytes, little-endian */
    int canonical;   /* the bytes are what protobuf's serializer writes for this pair */
} ScalarKV;

/* Strict UTF-8 as CPython decodes it: no overlong forms, no surrogates, nothing past U+10FFFF. */
static inline int utf8_valid(const uint8_t *p, Py_ssize_t n) {
    const uint8_t *end = p + n;
    while (p < end) {
        uint8_t c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        Py_ssize_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return 0;
        }
        if (end - p <= need)
            return 0;
        if (p[1] < lo || p[1] > hi)
            return 0;
        for (Py_ssize_t i = 2; i <= need; i++)
            if (p[i] < 0x80 || p[i] > 0xBF)
                return 0;
        p += need + 1;
    }
    return 1;
}

static inline int varint_size(uint64_t v) {
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A varint as protobuf reads an int64: 1 and the value, or 0 (overlong, truncated, or unusual). */
static inline int read_int64_varint(Cursor *c, uint64_t *out, int *minimal) {
    const uint8_t *start = c->p;
    if (!read_varint(c, out))
        return 0;
    *minimal = (c->p - start) == varint_size(*out);
    return c->p - start < 10 || c->p[-1] == 0x01;
}

/* The AnyValue's one scalar field: 1, or 0 when it is not the common case. */
static inline int parse_scalar_any(Slice s, ScalarKV *kv) {
    Cursor c = {s.p, s.p + s.n};
    uint32_t number;
    int wire_type, ok, seen = 0;
    kv->field = AV_NONE;
    while (next_field(&c, &number, &wire_type, &ok)) {
        if (seen++)
            return 0;  /* a oneof set twice: protobuf keeps the last, the official path decides */
        const uint8_t *field_start = c.p;
        int minimal = 1;
        if (number == AV_STRING && wire_type == WT_LEN && read_slice(&c, &kv->text)) {
            if (!utf8_valid(kv->text.p, kv->text.n))
                return 0;
            minimal = (kv->text.p - field_start) == varint_size((uint64_t)kv->text.n);
        } else if (number == AV_BOOL && wire_type == WT_VARINT && read_varint(&c, &kv->bits) && kv->bits <= 1
                   && c.p[-1] == kv->bits) {
            minimal = c.p - field_start == 1;
        } else if (number == AV_INT && wire_type == WT_VARINT && read_int64_varint(&c, &kv->bits, &minimal)) {
        } else if (number == AV_DOUBLE && wire_type == WT_I64 && read_fixed64(&c, &kv->bits)) {
        } else {
            return 0;
        }
        if (!minimal || field_start != s.p + 1)  /* the tag is one byte for fields 1-4 */
            kv->canonical = 0;
        kv->field = (int)number;
    }
    return ok;
}

/* A KeyValue holding a scalar: 1 and its parts, or 0 when it is not the common case. */
static inline int parse_scalar_kv(Slice raw, ScalarKV *kv) {
    Cursor c = {raw.p, raw.p + raw.n};
    uint32_t number;
    int wire_type, ok, keys = 0, values = 0;
    Slice value = {NULL, 0};
    const uint8_t *key_at = NULL, *value_at = NULL;
    kv->key.p = NULL;
    kv->key.n = 0;
    kv->text.p = NULL;
    kv->text.n = 0;
    kv->bits = 0;
    kv->canonical = 1;
    while (next_field(&c, &number, &wire_type, &ok)) {
        const uint8_t *field_at = c.p;
        if (number == KV_KEY && wire_type == WT_LEN && !keys++ && read_slice(&c, &kv->key)) {
            key_at = field_at;
            continue;
        }
        if (number == KV_VALUE && wire_type == WT_LEN && !values++ && read_slice(&c, &value)) {
            value_at = field_at;
            continue;
        }
        return 0;
    }
    if (!ok || !utf8_valid(kv->key.p, kv->key.n) || !parse_scalar_any(value, kv))
        return 0;
    /* canonical: the key first (absent when empty), then the value (absent when unset), lengths minimal */
    if (keys) {
        if (kv->key.n == 0 || key_at != raw.p + 1 || kv->key.p - key_at != varint_size((uint64_t)kv->key.n))
            kv->canonical = 0;
    }
    if (values) {
        const uint8_t *expected = keys ? kv->key.p + kv->key.n + 1 : raw.p + 1;
        if (kv->field == AV_NONE || value_at != expected || value.p - value_at != varint_size((uint64_t)value.n))
            kv->canonical = 0;
    }
    if (kv->field == AV_DOUBLE) {  /* NaN texts all read "nan": not found by their canonical bytes */
        uint64_t exponent = kv->bits >> 52 & 0x7FF, mantissa = kv->bits & 0xFFFFFFFFFFFFFULL;
        if (exponent == 0x7FF && mantissa)
            kv->canonical = 0;
    }
    return 1;
}

#endif
