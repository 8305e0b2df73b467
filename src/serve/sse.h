/*
 * sse.h -- OpenAI response bodies and Server-Sent Event chunks (sse.c).
 */
#ifndef SG_SERVE_SSE_H
#define SG_SERVE_SSE_H

#include <time.h>

#include "serve/serve.h"

typedef struct srv_buf {
    char *s;
    size_t len, cap;
} srv_buf;

bool srv_buf_add(srv_buf *b, const char *s, size_t n);

/* What every body of one response repeats. */
typedef struct srv_resp_info {
    srv_kind kind;
    char id[48];
    time_t created;
    const char *model;
    const srv_text *text;  /* token texts for logprobs */
    bool reasoning;        /* chat: report reasoning_content */
    bool include_usage;
    const char *conversation_id; /* stored conversation, or NULL */
} srv_resp_info;

/* Non-streaming body (the request is done; read under its mutex). */
char *srv_format_response(const srv_resp_info *ri, const srv_req *r);
/* Streaming: the first chunk (chat: the role), one per event, the end
 * (finish_reason, usage when asked, [DONE]). Callers hold r->mu. */
bool srv_format_role_chunk(const srv_resp_info *ri, srv_buf *b);
bool srv_format_event_chunk(const srv_resp_info *ri, const srv_req *r, int i, size_t text_offset, srv_buf *b);
bool srv_format_final_chunks(const srv_resp_info *ri, const srv_req *r, srv_buf *b);

#endif
