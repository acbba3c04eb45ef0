/* The output buffer of the compiled JSON-lines writer (json_lines.c) and its JSON strings (json_quote.c). */
#ifndef KUBESPAN_JSON_BUFFER_H
#define KUBESPAN_JSON_BUFFER_H

#include "wire.h"

typedef struct {
    char *data;
    size_t size, capacity;
    int failed;
} Buffer;

static inline void buf_reserve(Buffer *b, size_t extra) {
    if (b->failed || b->size + extra <= b->capacity)
        return;
    size_t capacity = b->capacity ? b->capacity : 4096;
    while (capacity < b->size + extra)
        capacity *= 2;
    char *data = PyMem_Realloc(b->data, capacity);
    if (data == NULL) {
        b->failed = 1;
        return;
    }
    b->data = data;
    b->capacity = capacity;
}

static inline void buf_put(Buffer *b, const void *data, size_t n) {
    buf_reserve(b, n);
    if (!b->failed) {
        memcpy(b->data + b->size, data, n);
        b->size += n;
    }
}

#define PUT_LITERAL(b, text) buf_put((b), (text), sizeof(text) - 1)

static inline void buf_u64(Buffer *b, uint64_t value) {
    char digits[24];
    int n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    buf_put(b, digits + sizeof digits - n, (size_t)n);
}

static inline void buf_i64(Buffer *b, int64_t value) {
    if (value < 0) {
        PUT_LITERAL(b, "-");
        buf_u64(b, (uint64_t)0 - (uint64_t)value);
    } else {
        buf_u64(b, (uint64_t)value);
    }
}

static inline void buf_hex(Buffer *b, Slice s) {
    static const char digits[] = "0123456789abcdef";
    buf_reserve(b, 2 * (size_t)s.n);
    if (b->failed)
        return;
    for (Py_ssize_t i = 0; i < s.n; i++) {
        b->data[b->size++] = digits[s.p[i] >> 4];
        b->data[b->size++] = digits[s.p[i] & 15];
    }
}

static inline void buf_unicode_escape(Buffer *b, uint32_t codepoint) {
    static const char digits[] = "0123456789abcdef";
    char text[6] = {'\\', 'u', digits[codepoint >> 12 & 15], digits[codepoint >> 8 & 15],
                    digits[codepoint >> 4 & 15], digits[codepoint & 15]};
    buf_put(b, text, 6);
}

/* A JSON string of UTF-8 text, as kubespan.encode.otlp_json.json_string writes it; 0 if the text is not UTF-8. */
int buf_quote(Buffer *b, Slice s);

#endif
