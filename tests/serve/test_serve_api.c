/*
 * test_serve_api.c -- srv_parse_request: the pure request validator.
 */
#include <string.h>

#include "../unit/test.h"
#include "serve/serve.h"

static bool ok(srv_kind k, const char *body, srv_request_params *p)
{
    srv_error e;
    return srv_parse_request(k, body, strlen(body), 301, p, &e);
}

static int status(srv_kind k, const char *body, const char *param)
{
    srv_request_params p;
    srv_error e;
    if (srv_parse_request(k, body, strlen(body), 301, &p, &e)) {
        srv_request_params_free(&p);
        return 200;
    }
    if (param && strcmp(e.param, param)) {
        fprintf(stderr, "param '%s', wanted '%s' (%s)\n", e.param, param, e.message);
        return -1;
    }
    char *j = srv_error_json(&e);
    bool shape = j && strstr(j, "\"error\":{\"message\":") && strstr(j, "\"type\":") && strstr(j, "\"code\":");
    free(j);
    return shape ? e.status : -2;
}

static void test_chat(void)
{
    srv_request_params p;
    CHECK(ok(SRV_CHAT,
             "{\"model\":\"x\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":"
             "[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}],\"temperature\":0.5,"
             "\"top_p\":0.9,\"max_completion_tokens\":7,\"stop\":\"zz\",\"seed\":3,\"stream\":true,"
             "\"stream_options\":{\"include_usage\":true},\"logprobs\":true,\"top_logprobs\":4,"
             "\"logit_bias\":{\"12\":-100},\"top_k\":5,\"min_p\":0.1,\"repetition_penalty\":1.2,"
             "\"response_format\":{\"type\":\"json_object\"},\"user\":\"u\"}",
             &p));
    CHECK(p.n_messages == 2 && !strcmp(p.messages[1].content, "ab") && !strcmp(p.messages[0].role, "system"));
    CHECK(p.max_tokens == 7 && p.stream && p.include_usage && p.logprobs && p.top_logprobs == 4);
    CHECK(p.n_stops == 1 && !strcmp(p.stops[0], "zz") && p.sp.seed == 3 && p.json_mode);
    CHECK(p.n_bias == 1 && p.bias[0].token == 12 && p.sp.top_k == 5);
    CHECK_NEAR(p.sp.temperature, 0.5, 1e-6);
    CHECK_NEAR(p.sp.repeat_penalty, 1.2, 1e-6);
    srv_request_params_free(&p);
}

static void test_completion(void)
{
    srv_request_params p;
    CHECK(ok(SRV_COMPLETION, "{\"prompt\":[1,2,300],\"logprobs\":3}", &p));
    CHECK(p.n_prompt_ids == 3 && p.prompt_ids[2] == 300 && p.logprobs && p.top_logprobs == 3);
    CHECK(p.max_tokens == -1);
    srv_request_params_free(&p);
    CHECK(ok(SRV_COMPLETION, "{\"prompt\":[\"text\"]}", &p));
    CHECK(p.prompt_text && !strcmp(p.prompt_text, "text"));
    srv_request_params_free(&p);
}

static void test_errors(void)
{
    CHECK(status(SRV_CHAT, "", NULL) == 400);
    CHECK(status(SRV_CHAT, "{", NULL) == 400);
    CHECK(status(SRV_CHAT, "[]", NULL) == 400);
    CHECK(status(SRV_CHAT, "{}", "messages") == 400);
    CHECK(status(SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":1}]}", "messages[0].content") == 400);
    CHECK(status(SRV_CHAT, "{\"messages\":[{\"role\":\"user\"}],\"n\":3}", "n") == 400);
    CHECK(status(SRV_CHAT, "{\"messages\":[{\"role\":\"user\"}],\"top_logprobs\":2}", "top_logprobs") == 400);
    CHECK(status(SRV_CHAT, "{\"messages\":[{\"role\":\"user\"}],\"max_tokens\":0}", "max_tokens") == 400);
    CHECK(status(SRV_CHAT, "{\"messages\":[{\"role\":\"user\"}],\"stop\":[1]}", "stop") == 400);
    CHECK(status(SRV_CHAT, "{\"messages\":[{\"role\":\"user\"}],\"logit_bias\":{\"301\":1}}", "logit_bias") == 400);
    CHECK(status(SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"\\u0000\"}]}", NULL) == 400);
    CHECK(status(SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"\\\\u0000\"}]}", NULL) == 200);
    CHECK(status(SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}", "messages[0].content") ==
          400);
    CHECK(status(SRV_COMPLETION, "{\"prompt\":[-1]}", "prompt") == 400);
    CHECK(status(SRV_COMPLETION, "{\"prompt\":[]}", "prompt") == 400);
    CHECK(status(SRV_COMPLETION, "{\"prompt\":\"x\",\"echo\":true}", "echo") == 400);
    /* deep nesting is refused before the recursive parser sees it */
    static char deep[200001];
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    CHECK(status(SRV_CHAT, deep, NULL) == 400);
    /* max_tokens of 10^9 parses (the server then compares it with the context) */
    srv_request_params p;
    CHECK(ok(SRV_CHAT, "{\"messages\":[{\"role\":\"user\"}],\"max_tokens\":1000000000}", &p) &&
          p.max_tokens == 1000000000);
    srv_request_params_free(&p);
}

static void test_utf8(void)
{
    CHECK(srv_utf8_valid("h\xc3\xa9", 3));
    CHECK(srv_utf8_valid("\xf0\x9f\x98\x80", 4));
    CHECK(!srv_utf8_valid("\xc3", 1));
    CHECK(!srv_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    CHECK(!srv_utf8_valid("\xc0\xaf", 2));     /* overlong */
    CHECK(!srv_utf8_valid("\xf4\x90\x80\x80", 4));
}

static void test_json_prefix(void)
{
    static const struct {
        const char *s;
        bool valid, complete;
    } cases[] = {
        {"{", true, false},
        {"{}", true, true},
        {" {\"a\": [1, -2.5e+3, true, null, {\"b\": \"x\\u00e9\\n\"}]}", true, true},
        {"{\"a\":0", true, false},
        {"{\"a\":01", false, false},
        {"{\"a\":1.}", false, false},
        {"[1]", false, false},
        {"{\"a\" 1", false, false},
        {"{\"a\":tru", true, false},
        {"{\"a\":trux", false, false},
        {"{}}", false, false},
        {"{\"a\":[}", false, false},
        {"{\"a\":\"\x01\"}", false, false},
        {"{      ", false, false}, /* whitespace runs are capped */
        {"{\"k\":\"\\q\"}", false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool complete = false;
        bool v = srv_jsonc_valid_prefix(cases[i].s, strlen(cases[i].s), &complete);
        CHECK_MSG(v == cases[i].valid && (!v || complete == cases[i].complete), "case %zu: %s", i, cases[i].s);
    }
}

TEST_MAIN(test_chat(), test_completion(), test_errors(), test_utf8(), test_json_prefix())
