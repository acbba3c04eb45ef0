/* walk_spans: the ResourceSpans and ScopeSpans around every span of a request, walked once for
   every compiled reader (the span columns, the JSON lines); and the Status reader they share. */
#include "wire.h"

int read_status(Slice status, Slice *message, int64_t *code) {
    FIELDS_OF(status) {
        switch (number) {
        case STATUS_MESSAGE: FIELD_LEN(*message); break;
        case STATUS_CODE: {
            uint64_t value;
            FIELD_VARINT(value);
            *code = (int32_t)value;
            break;
        }
        default: FIELD_SKIP();
        }
    }
    FIELDS_END();
    return 1;
}

typedef struct {
    const SpanVisit *visit;
    void *context;
    long scope;  /* the number of the next ScopeSpans */
} Walk;

typedef int (*FieldVisit)(Walk *walk, Slice field);

/* Visit every field `wanted` of `message`; it and the field `also` (0: none) must be length-delimited. */
static int each_field(Slice message, uint32_t wanted, uint32_t also, FieldVisit visit, Walk *walk) {
    FIELDS_OF(message) {
        Slice item;
        if (number == wanted || (also && number == also)) {
            FIELD_LEN(item);
            if (number == wanted) {
                int visited = visit(walk, item);
                if (visited != WALK_OK)
                    return visited;
            }
        } else {
            FIELD_SKIP();
        }
    }
    FIELDS_END();
    return WALK_OK;
}

static int visit_span(Walk *walk, Slice span) {
    return walk->visit->span(walk->context, walk->scope - 1, span);
}

static int visit_scope_spans(Walk *walk, Slice scope_spans) {
    long scope = walk->scope++;
    if (walk->visit->scope_begins != NULL) {
        int begun = walk->visit->scope_begins(walk->context, scope);
        if (begun != WALK_OK)
            return begun;
    }
    return each_field(scope_spans, SCOPE_SPANS_SPANS, SCOPE_SPANS_SCOPE, visit_span, walk);
}

static int visit_resource_spans(Walk *walk, Slice resource_spans) {
    return each_field(resource_spans, RESOURCE_SPANS_SCOPE_SPANS, RESOURCE_SPANS_RESOURCE, visit_scope_spans, walk);
}

int walk_spans(Slice request, const SpanVisit *visit, void *context) {
    Walk walk = {visit, context, 0};
    return each_field(request, REQUEST_RESOURCE_SPANS, 0, visit_resource_spans, &walk);
}
