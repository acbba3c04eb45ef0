/* walk_spans: the ResourceSpans and ScopeSpans around every span of a request, walked once for
   every compiled reader (the span columns, the JSON lines). */
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

static int walk_scope_spans(Slice scope_spans, long scope, const SpanVisit *visit, void *context) {
    if (visit->scope_begins != NULL) {
        int begun = visit->scope_begins(context, scope);
        if (begun != WALK_OK)
            return begun;
    }
    FIELDS_OF(scope_spans) {
        Slice item;
        if (number == SCOPE_SPANS_SCOPE || number == SCOPE_SPANS_SPANS) {
            FIELD_LEN(item);
            if (number == SCOPE_SPANS_SPANS) {
                int visited = visit->span(context, scope, item);
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

/* The scope spans of one ResourceSpans, numbered on from *scope. */
static int walk_resource_spans(Slice resource_spans, long *scope, const SpanVisit *visit, void *context) {
    FIELDS_OF(resource_spans) {
        Slice item;
        if (number == RESOURCE_SPANS_RESOURCE || number == RESOURCE_SPANS_SCOPE_SPANS) {
            FIELD_LEN(item);
            if (number == RESOURCE_SPANS_SCOPE_SPANS) {
                int walked = walk_scope_spans(item, (*scope)++, visit, context);
                if (walked != WALK_OK)
                    return walked;
            }
        } else {
            FIELD_SKIP();
        }
    }
    FIELDS_END();
    return WALK_OK;
}

int walk_spans(Slice request, const SpanVisit *visit, void *context) {
    long scope = 0;
    FIELDS_OF(request) {
        Slice item;
        if (number == REQUEST_RESOURCE_SPANS) {
            FIELD_LEN(item);
            int walked = walk_resource_spans(item, &scope, visit, context);
            if (walked != WALK_OK)
                return walked;
        } else {
            FIELD_SKIP();
        }
    }
    FIELDS_END();
    return WALK_OK;
}
