/* JSON strings for the compiled JSON-lines writer, escaped as kubespan.encode.otlp_json.json_string
   escapes them: JSON's own escapes, and \\u escapes for the characters that act on a terminal. */
#include "json_buffer.h"

/* What json_string escapes beyond JSON's own: kubespan.encode.inert.TERMINAL_ACTIVE (generated.h). */
static int acts_on_terminal(uint32_t c) {
    for (size_t i = 0; i < sizeof TERMINAL_ACTIVE / sizeof TERMINAL_ACTIVE[0]; i++)
        if (c >= TERMINAL_ACTIVE[i][0] && c <= TERMINAL_ACTIVE[i][1])
            return 1;
    return 0;
}

/* The length of the UTF-8 sequence at p and its code point; 0 if it is not valid UTF-8. */
static int utf8_sequence(const uint8_t *p, const uint8_t *end, uint32_t *codepoint) {
    uint8_t lead = p[0];
    int n;
    uint32_t c, least;
    if (lead >= 0xC2 && lead <= 0xDF) { n = 2; c = lead & 0x1F; least = 0x80; }
    else if (lead >= 0xE0 && lead <= 0xEF) { n = 3; c = lead & 0x0F; least = 0x800; }
    else if (lead >= 0xF0 && lead <= 0xF4) { n = 4; c = lead & 0x07; least = 0x10000; }
    else return 0;
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < least || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *codepoint = c;
    return n;
}

int buf_quote(Buffer *b, Slice s) {
    const uint8_t *p = s.p ? s.p : (const uint8_t *)"", *end = p + s.n;
    PUT_LITERAL(b, "\"");
    while (p < end) {
        const uint8_t *run = p;
        while (p < end && *p >= 0x20 && *p < 0x7F && *p != '"' && *p != '\\')
            p++;
        buf_put(b, run, (size_t)(p - run));
        if (p == end)
            break;
        uint8_t c = *p;
        if (c < 0x80) {
            p++;
            switch (c) {
            case '"': PUT_LITERAL(b, "\\\""); break;
            case '\\': PUT_LITERAL(b, "\\\\"); break;
            case '\n': PUT_LITERAL(b, "\\n"); break;
            case '\r': PUT_LITERAL(b, "\\r"); break;
            case '\t': PUT_LITERAL(b, "\\t"); break;
            case '\b': PUT_LITERAL(b, "\\b"); break;
            case '\f': PUT_LITERAL(b, "\\f"); break;
            default: buf_unicode_escape(b, c);
            }
            continue;
        }
        uint32_t codepoint;
        int n = utf8_sequence(p, end, &codepoint);
        if (!n)
            return 0;
        if (acts_on_terminal(codepoint))
            buf_unicode_escape(b, codepoint);
        else
            buf_put(b, p, (size_t)n);
        p += n;
    }
    PUT_LITERAL(b, "\"");
    return 1;
}
