/* test_config.c -- config.json parsing and validation, and the Llama 3.1
 * RoPE factors (checked against the rule's closed form at its three regimes). */
#include <string.h>

#include "model/model.h"
#include "test.h"

static sg_status parse(const char *json, sg_config *c, sg_error *e)
{
    return sg_config_from_hf_json(json, "config.json", c, e);
}

TEST_MAIN({
    sg_config c;
    sg_error e = {0};
    const char *llama = "{\"model_type\":\"llama\",\"vocab_size\":1000,\"hidden_size\":64,\"num_hidden_layers\":2,"
                        "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"intermediate_size\":128,"
                        "\"max_position_embeddings\":256,\"rms_norm_eps\":1e-5,\"rope_theta\":500000.0,"
                        "\"tie_word_embeddings\":true,\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,"
                        "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":64}}";
    CHECK(parse(llama, &c, &e) == SG_OK);
    CHECK(c.arch == SG_ARCH_LLAMA && c.n_vocab == 1000 && c.n_embd == 64 && c.n_head_kv == 2 && c.head_dim == 16);
    CHECK(c.rope_style == SG_ROPE_NEOX && c.tied_embeddings && c.rope_scaling == SG_ROPE_SCALING_LLAMA3);
    CHECK_NEAR(c.rope_theta, 500000.0, 1e-3);
    float f[8];
    sg_rope_llama3_factors(&c, f);
    CHECK_NEAR(f[0], 1.0, 0);        /* highest frequency: wavelength 2pi < 64/4 -> unscaled */
    CHECK_NEAR(f[7], 8.0, 1e-6);     /* lowest frequency: wavelength >> 64 -> divided by factor */
    for (int i = 1; i < 8; i++) CHECK(f[i] >= f[i - 1]);

    const char *qwen2 = "{\"model_type\":\"qwen2\",\"vocab_size\":100,\"hidden_size\":32,\"num_hidden_layers\":1,"
                        "\"num_attention_heads\":2,\"intermediate_size\":64,\"sliding_window\":16,"
                        "\"use_sliding_window\":false}";
    CHECK(parse(qwen2, &c, &e) == SG_OK);
    CHECK(c.sliding_window == 0 && !c.tied_embeddings && c.n_head_kv == 2);
    const char *mistral = "{\"model_type\":\"mistral\",\"vocab_size\":100,\"hidden_size\":32,\"num_hidden_layers\":1,"
                          "\"num_attention_heads\":2,\"intermediate_size\":64,\"sliding_window\":16}";
    CHECK(parse(mistral, &c, &e) == SG_OK && c.sliding_window == 16);
    const char *qwen3 = "{\"model_type\":\"qwen3\",\"vocab_size\":100,\"hidden_size\":32,\"num_hidden_layers\":1,"
                        "\"num_attention_heads\":4,\"head_dim\":48,\"intermediate_size\":64}";
    CHECK(parse(qwen3, &c, &e) == SG_OK && c.head_dim == 48 && c.rope_dim == 48);
    const char *gpt2 = "{\"model_type\":\"gpt2\",\"vocab_size\":100,\"n_embd\":32,\"n_layer\":1,\"n_head\":4,"
                       "\"n_positions\":64,\"n_inner\":null}";
    CHECK(parse(gpt2, &c, &e) == SG_OK && c.n_ff == 128 && c.rope_style == SG_ROPE_NONE && c.tied_embeddings);

    /* bad inputs: each gives a one-line message naming the file and the field */
    struct { const char *json, *word; sg_status code; } bad[] = {
        {"not json", "not valid JSON", SG_ERR_FORMAT},
        {"[1,2]", "object", SG_ERR_FORMAT},
        {"{\"hidden_size\":3}", "model_type", SG_ERR_MISSING},
        {"{\"model_type\":\"mamba\"}", "mamba", SG_ERR_UNSUPPORTED},
        {"{\"model_type\":\"llama\",\"vocab_size\":10}", "hidden_size", SG_ERR_MISSING},
        {"{\"model_type\":\"llama\",\"vocab_size\":10,\"hidden_size\":\"big\",\"num_hidden_layers\":1,"
         "\"num_attention_heads\":2,\"intermediate_size\":4}", "hidden_size", SG_ERR_FORMAT},
        {"{\"model_type\":\"llama\",\"vocab_size\":10,\"hidden_size\":30,\"num_hidden_layers\":1,"
         "\"num_attention_heads\":4,\"intermediate_size\":4}", "divisible", SG_ERR_FORMAT},
        {"{\"model_type\":\"llama\",\"vocab_size\":10,\"hidden_size\":32,\"num_hidden_layers\":1,"
         "\"num_attention_heads\":4,\"num_key_value_heads\":3,\"intermediate_size\":4}", "multiple", SG_ERR_FORMAT},
        {"{\"model_type\":\"llama\",\"vocab_size\":0,\"hidden_size\":32,\"num_hidden_layers\":1,"
         "\"num_attention_heads\":4,\"intermediate_size\":4}", "vocabulary", SG_ERR_FORMAT},
        {"{\"model_type\":\"llama\",\"vocab_size\":10,\"hidden_size\":32,\"num_hidden_layers\":1,"
         "\"num_attention_heads\":4,\"intermediate_size\":4,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}}",
         "yarn", SG_ERR_UNSUPPORTED},
        {"{\"model_type\":\"llama\",\"vocab_size\":10,\"hidden_size\":32,\"num_hidden_layers\":1,"
         "\"num_attention_heads\":4,\"intermediate_size\":4,\"num_key_value_heads\":-2}", "integer", SG_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sg_error_clear(&e);
        sg_status s = parse(bad[i].json, &c, &e);
        CHECK_MSG(s == bad[i].code, "case %zu: status %d", i, (int)s);
        CHECK_MSG(strstr(e.msg, bad[i].word) && strstr(e.msg, "config.json") && !strchr(e.msg, '\n'),
                  "case %zu: message '%s'", i, e.msg);
    }
})
