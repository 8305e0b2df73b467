/*
 * fuzz_template.c -- libFuzzer target for the chat-template engine.
 *
 * The input is a template source. It is compiled and, when that succeeds,
 * rendered with a fixed small conversation (messages with a system prompt,
 * a tool call and non-ASCII text, tools, bos/eos, extra variables) under
 * tight limits, so endless loops and deep recursion end quickly with an
 * error. The rendered prompt is then streamed through the reasoning
 * splitter in small pieces. Any crash, leak, hang or sanitizer report is a
 * bug: bad templates must only ever produce an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stargate.h"

static const char CONTEXT[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
    " {\"role\": \"user\", \"content\": \"Bonjour, ça va ? 你好 🎉\"},"
    " {\"role\": \"assistant\", \"content\": \"<think>hmm</think>Oui.\", \"tool_calls\": [{\"type\": \"function\","
    " \"function\": {\"name\": \"f\", \"arguments\": {\"x\": 1, \"y\": [1.5, null, true]}}}]},"
    " {\"role\": \"tool\", \"content\": \"{\\\"ok\\\": 1}\"}],"
    " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"d\","
    " \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"integer\"}}, \"required\": [\"x\"]}}}],"
    " \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"n\": 3}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    if (!src) return 0;
    memcpy(src, data, size);
    src[size] = 0;
    sg_template *t;
    sg_error err;
    if (sg_template_compile(src, &t, &err) == SG_OK) {
        sg_template_opts o = {.now = 1722000000, .max_steps = 200000, .max_output = 1 << 20, .max_memory = 64 << 20, .max_depth = 200};
        char *out = NULL;
        if (sg_template_apply(t, CONTEXT, &o, &out, &err) == SG_OK) {
            sg_reasoning *r = sg_reasoning_new(sg_reasoning_prompt_opens(out));
            sg_reasoning_delta d;
            size_t n = strlen(out);
            for (size_t i = 0; i < n; i += 3) sg_reasoning_feed(r, out + i, n - i < 3 ? n - i : 3, &d);
            sg_reasoning_finish(r, &d);
            sg_reasoning_free(r);
        }
        free(out);
        sg_template_free(t);
    }
    free(src);
    return 0;
}
