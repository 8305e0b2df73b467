/*
 * test_safetensors.c -- unit tests of the safetensors reader
 * (src/formats/safetensors.c).
 *
 * Single files are built in memory: an 8-byte header length, the JSON text
 * given by the test, and a data buffer of patterned bytes. A valid file with
 * every kind of entry (plain float dtypes, an integer dtype parsed with dtype
 * -1, a scalar, an empty tensor, __metadata__) checks the fields; each
 * malformation changes one thing and must be rejected with the right status
 * and a one-line message naming the file. Directory tests write single-file
 * and sharded models under a mkdtemp() folder and remove them afterwards.
 */
#include "formats/safetensors.h"
#include "test.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* Build "u64 len | json | data_len patterned bytes" into a new buffer. */
static uint8_t *st_build(const char *json, size_t data_len, size_t *n_out)
{
    size_t jl = strlen(json), n = 8 + jl + data_len;
    uint8_t *p = malloc(n);
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)((uint64_t)jl >> (8 * i));
    memcpy(p + 8, json, jl);
    for (size_t i = 0; i < data_len; i++) p[8 + jl + i] = (uint8_t)(i * 3 + 1);
    *n_out = n;
    return p;
}

/* The message is one line, names the label and contains `word`. */
static bool msg_ok(const sg_error *e, const char *label, const char *word)
{
    return strstr(e->msg, label) && strstr(e->msg, word) && !strchr(e->msg, '\n');
}

/* Parse a heap copy of exactly n bytes (so over-reads are caught). */
static sg_status parse_copy(const uint8_t *p, size_t n, sg_error *e)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    sg_safetensors st;
    sg_status rc = sg_safetensors_parse(&st, copy, n, "t.safetensors", e);
    if (rc == SG_OK) sg_safetensors_close(&st);
    else CHECK(st.tensors == NULL && st.files == NULL && st.n_tensors == 0);
    free(copy);
    return rc;
}

/* Expect the JSON header (with data_len data bytes) to be rejected. */
static void expect_fail(const char *json, size_t data_len, sg_status code, const char *word)
{
    size_t n;
    uint8_t *p = st_build(json, data_len, &n);
    sg_error e = {0};
    sg_status rc = parse_copy(p, n, &e);
    CHECK_MSG(rc == code, "%s: status %d, want %d (%s)", json, rc, code, e.msg);
    CHECK_MSG(msg_ok(&e, "t.safetensors", word), "message '%s' lacks '%s'", e.msg, word);
    free(p);
}

static const char *VALID_JSON =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"b.half\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
    "\"c\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[32,40]},"
    "\"ids\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[40,64]},"
    "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[64,68]},"
    "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[68,68]},"
    "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[68,72]},"
    "\"fp8\":{\"dtype\":\"F8_E4M3\",\"shape\":[1,1,1,1,1,1,1,8],\"data_offsets\":[72,80]}}  ";

static void test_valid(void)
{
    size_t n;
    uint8_t *p = st_build(VALID_JSON, 80, &n);
    sg_safetensors st;
    sg_error e = {0};
    sg_status rc = sg_safetensors_parse(&st, p, n, "t.safetensors", &e);
    CHECK_MSG(rc == SG_OK, "%s", e.msg);
    if (rc != SG_OK) {
        free(p);
        return;
    }
    CHECK(st.n_tensors == 8 && st.n_files == 1);
    const uint8_t *buf = p + 8 + strlen(VALID_JSON);
    const sg_st_tensor *t = sg_safetensors_find(&st, "a");
    CHECK(t && t->dtype == SG_F32 && strcmp(t->dtype_str, "F32") == 0 && t->n_dims == 2 && t->shape[0] == 2 &&
          t->shape[1] == 3 && t->nbytes == 24 && t->data == buf && t->shard == 0);
    t = sg_safetensors_find(&st, "b.half");
    CHECK(t && t->dtype == SG_F16 && t->n_dims == 1 && t->nbytes == 8 && t->data == buf + 24);
    t = sg_safetensors_find(&st, "c");
    CHECK(t && t->dtype == SG_BF16 && t->nbytes == 8 && t->data == buf + 32);
    t = sg_safetensors_find(&st, "ids");
    CHECK(t && t->dtype == -1 && strcmp(t->dtype_str, "I64") == 0 && t->nbytes == 24 && t->data == buf + 40);
    t = sg_safetensors_find(&st, "scalar");
    CHECK(t && t->n_dims == 0 && t->nbytes == 4);
    t = sg_safetensors_find(&st, "empty");
    CHECK(t && t->n_dims == 2 && t->shape[0] == 0 && t->nbytes == 0);
    t = sg_safetensors_find(&st, "mask");
    CHECK(t && t->dtype == -1 && strcmp(t->dtype_str, "BOOL") == 0);
    t = sg_safetensors_find(&st, "fp8");
    CHECK(t && t->n_dims == 8 && t->shape[7] == 8 && strcmp(t->dtype_str, "F8_E4M3") == 0);
    CHECK(sg_safetensors_find(&st, "__metadata__") == NULL);
    CHECK(sg_safetensors_find(&st, "zzz") == NULL);
    CHECK(sg_safetensors_find(&st, "") == NULL);
    sg_safetensors_close(&st);
    CHECK(st.tensors == NULL && st.files == NULL);

    /* An empty header object is a valid (empty) model. */
    free(p);
    p = st_build("{}", 0, &n);
    CHECK(sg_safetensors_parse(&st, p, n, "t.safetensors", &e) == SG_OK && st.n_tensors == 0);
    CHECK(sg_safetensors_find(&st, "a") == NULL);
    sg_safetensors_close(&st);
    free(p);
}

/* Every proper prefix of a valid file fails cleanly. */
static void test_truncation_every_length(void)
{
    size_t n;
    uint8_t *p = st_build(VALID_JSON, 80, &n);
    sg_error e = {0};
    CHECK(parse_copy(p, n, &e) == SG_OK);
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        e.msg[0] = 0;
        sg_status rc = parse_copy(p, k, &e);
        if (rc != SG_ERR_FORMAT || !msg_ok(&e, "t.safetensors", "t.safetensors")) {
            bad++;
            fprintf(stderr, "truncated to %zu bytes: status %d '%s'\n", k, rc, e.msg);
        }
    }
    CHECK(bad == 0);
    CHECK(parse_copy(p, 5, &e) == SG_ERR_FORMAT && msg_ok(&e, "t.safetensors", "truncated"));
    CHECK(parse_copy(p, 100, &e) == SG_ERR_FORMAT && msg_ok(&e, "t.safetensors", "header length"));
    CHECK(parse_copy(p, n - 1, &e) == SG_ERR_FORMAT && msg_ok(&e, "t.safetensors", "'fp8'"));
    free(p);
}

static void test_header_length(void)
{
    size_t n;
    uint8_t *p = st_build("{}", 0, &n);
    sg_error e = {0};
    p[0] = 3; /* length 3 > 2 bytes left */
    CHECK(parse_copy(p, n, &e) == SG_ERR_FORMAT && msg_ok(&e, "t.safetensors", "header length 3 exceeds"));
    memset(p, 0xff, 8);
    CHECK(parse_copy(p, n, &e) == SG_ERR_FORMAT && msg_ok(&e, "t.safetensors", "header length"));
    memset(p, 0, 8); /* empty header: not JSON */
    CHECK(parse_copy(p, n, &e) == SG_ERR_FORMAT && msg_ok(&e, "t.safetensors", "JSON"));
    free(p);

    /* A header over the 100 MB cap, even though the file is that large. */
    size_t big = SG_ST_MAX_HEADER + 16;
    uint8_t *q = calloc(big, 1);
    uint64_t hl = SG_ST_MAX_HEADER + 1;
    for (int i = 0; i < 8; i++) q[i] = (uint8_t)(hl >> (8 * i));
    sg_safetensors st;
    CHECK(sg_safetensors_parse(&st, q, big, "t.safetensors", &e) == SG_ERR_FORMAT &&
          msg_ok(&e, "t.safetensors", "limit"));
    free(q);
}

static void test_malformed(void)
{
    expect_fail("{\"a\":", 0, SG_ERR_FORMAT, "not valid JSON");
    expect_fail("not json", 0, SG_ERR_FORMAT, "not valid JSON");
    expect_fail("[1,2]", 0, SG_ERR_FORMAT, "not a JSON object");
    expect_fail("{} x", 0, SG_ERR_FORMAT, "trailing");
    expect_fail("{\"a\":[1]}", 0, SG_ERR_FORMAT, "not an object");
    expect_fail("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, SG_ERR_FORMAT, "dtype");
    expect_fail("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, SG_ERR_FORMAT, "dtype");
    expect_fail("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, SG_ERR_UNSUPPORTED,
                "unknown dtype 'Q7'");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, SG_ERR_FORMAT, "shape");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":7,\"data_offsets\":[0,4]}}", 4, SG_ERR_FORMAT, "shape");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, SG_ERR_FORMAT, "shape[0]");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, SG_ERR_FORMAT, "shape[0]");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,\"2\"],\"data_offsets\":[0,4]}}", 4, SG_ERR_FORMAT,
                "shape[1]");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4, SG_ERR_FORMAT,
                "shape[0]");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                SG_ERR_FORMAT, "9 dimensions");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[9007199254740992,9007199254740992],\"data_offsets\":[0,4]}}",
                4, SG_ERR_FORMAT, "overflow");
    expect_fail("{\"a\":{\"dtype\":\"F64\",\"shape\":[9007199254740992,256],\"data_offsets\":[0,4]}}", 4,
                SG_ERR_FORMAT, "overflow");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, SG_ERR_FORMAT, "data_offsets");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, SG_ERR_FORMAT,
                "data_offsets");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,-4]}}", 4, SG_ERR_FORMAT,
                "data_offsets");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, SG_ERR_FORMAT, "outside");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, SG_ERR_FORMAT,
                "outside the data buffer of 4 bytes");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, SG_ERR_FORMAT,
                "hold 8 bytes but its shape and dtype F32 need 12");
    expect_fail("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 8, SG_ERR_FORMAT, "whole bytes");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                12, SG_ERR_FORMAT, "overlap");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                8, SG_ERR_FORMAT, "overlap");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                16, SG_ERR_FORMAT, "duplicate tensor name 'a'");
    expect_fail("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, SG_ERR_FORMAT, "name");
    expect_fail("{\"a\\nb\\u0001\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, SG_ERR_UNSUPPORTED,
                "tensor 'a?b?'");

    /* Empty tensors overlap nothing, even inside another tensor's range. */
    size_t n;
    uint8_t *p = st_build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                          "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
                          8, &n);
    sg_error e = {0};
    CHECK_MSG(parse_copy(p, n, &e) == SG_OK, "%s", e.msg);
    free(p);
}

/* ------------------------------------------------------ directory tests */

static char tmpdir[64];

static void write_file(const char *name, const void *data, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(data, 1, n, fp) == n);
    if (fp) fclose(fp);
}
static void write_st(const char *name, const char *json, size_t data_len)
{
    size_t n;
    uint8_t *p = st_build(json, data_len, &n);
    write_file(name, p, n);
    free(p);
}
static void write_text(const char *name, const char *text)
{
    write_file(name, text, strlen(text));
}
static void remove_file(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    unlink(path);
}

/* open_dir: expect failure with code and a message containing both words. */
static void expect_dir_fail(sg_status code, const char *w1, const char *w2)
{
    sg_safetensors st;
    sg_error e = {0};
    sg_status rc = sg_safetensors_open_dir(&st, tmpdir, &e);
    CHECK_MSG(rc == code, "status %d, want %d (%s)", rc, code, e.msg);
    CHECK_MSG(strstr(e.msg, w1) && strstr(e.msg, w2) && !strchr(e.msg, '\n'), "message '%s' lacks '%s'/'%s'",
              e.msg, w1, w2);
    CHECK(st.tensors == NULL && st.files == NULL);
}

static const char *SHARD1 = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                            "\"y\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]}}";
static const char *SHARD2 = "{\"z\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}";
static const char *INDEX = "{\"metadata\":{\"total_size\":20},\"weight_map\":{"
                           "\"x\":\"model-00001-of-00002.safetensors\","
                           "\"y\":\"model-00001-of-00002.safetensors\","
                           "\"z\":\"model-00002-of-00002.safetensors\"}}";

static void test_dirs(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sg_test_st_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        CHECK(!"mkdtemp");
        return;
    }
    sg_safetensors st;
    sg_error e = {0};

    /* neither file */
    expect_dir_fail(SG_ERR_MISSING, tmpdir, "no model.safetensors or model.safetensors.index.json");

    /* single file */
    write_st("model.safetensors", SHARD1, 12);
    CHECK_MSG(sg_safetensors_open_dir(&st, tmpdir, &e) == SG_OK, "%s", e.msg);
    CHECK(st.n_files == 1 && st.n_tensors == 2 && st.files[0].data);
    const sg_st_tensor *t = sg_safetensors_find(&st, "y");
    CHECK(t && t->data == st.files[0].data + 8 + strlen(SHARD1) + 8);
    sg_safetensors_close(&st);
    write_st("model.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
    expect_dir_fail(SG_ERR_FORMAT, "model.safetensors", "'x'");
    remove_file("model.safetensors");

    /* sharded */
    write_st("model-00001-of-00002.safetensors", SHARD1, 12);
    write_st("model-00002-of-00002.safetensors", SHARD2, 8);
    write_text("model.safetensors.index.json", INDEX);
    CHECK_MSG(sg_safetensors_open_dir(&st, tmpdir, &e) == SG_OK, "%s", e.msg);
    CHECK(st.n_files == 2 && st.n_tensors == 3);
    t = sg_safetensors_find(&st, "z");
    CHECK(t && t->shard == 1 && t->dtype == SG_BF16 && t->data == st.files[1].data + 8 + strlen(SHARD2));
    t = sg_safetensors_find(&st, "x");
    CHECK(t && t->shard == 0 && t->data == st.files[0].data + 8 + strlen(SHARD1));
    CHECK(st.files[1].path && strstr(st.files[1].path, "model-00002-of-00002.safetensors"));
    sg_safetensors_close(&st);

    /* a shard that is not there */
    remove_file("model-00002-of-00002.safetensors");
    expect_dir_fail(SG_ERR_MISSING, "model-00002-of-00002.safetensors", "missing");
    /* a tensor missing from its shard */
    write_st("model-00002-of-00002.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
             8);
    expect_dir_fail(SG_ERR_MISSING, "'z'", "missing from shard model-00002-of-00002.safetensors");
    /* the same tensor in two shards */
    write_st("model-00002-of-00002.safetensors", "{\"z\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]},"
                                                 "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
             16);
    expect_dir_fail(SG_ERR_FORMAT, "'x'", "two shards");
    /* a tensor in a different shard than the index says */
    write_st("model-00002-of-00002.safetensors", SHARD2, 8);
    write_text("model.safetensors.index.json", "{\"weight_map\":{"
                                               "\"x\":\"model-00002-of-00002.safetensors\","
                                               "\"z\":\"model-00002-of-00002.safetensors\"}}");
    expect_dir_fail(SG_ERR_MISSING, "'x'", "missing from shard");
    write_text("model.safetensors.index.json", "{\"weight_map\":{"
                                               "\"x\":\"model-00002-of-00002.safetensors\","
                                               "\"y\":\"model-00001-of-00002.safetensors\","
                                               "\"z\":\"model-00002-of-00002.safetensors\"}}");
    expect_dir_fail(SG_ERR_FORMAT, "'x'", "weight_map says");
    /* a malformed shard: message names the shard */
    write_file("model-00002-of-00002.safetensors", "\x40\0\0\0\0\0\0\0{}", 10);
    write_text("model.safetensors.index.json", INDEX);
    expect_dir_fail(SG_ERR_FORMAT, "model-00002-of-00002.safetensors", "header length");
    write_st("model-00002-of-00002.safetensors", SHARD2, 8);
    /* malformed index files */
    write_text("model.safetensors.index.json", "{\"weight_map\":");
    expect_dir_fail(SG_ERR_FORMAT, "model.safetensors.index.json", "JSON");
    write_text("model.safetensors.index.json", "{\"metadata\":{}}");
    expect_dir_fail(SG_ERR_FORMAT, "model.safetensors.index.json", "weight_map");
    write_text("model.safetensors.index.json", "{\"weight_map\":{\"x\":5}}");
    expect_dir_fail(SG_ERR_FORMAT, "model.safetensors.index.json", "'x'");
    write_text("model.safetensors.index.json", "{\"weight_map\":{\"x\":\"../model-00001-of-00002.safetensors\"}}");
    expect_dir_fail(SG_ERR_FORMAT, "model.safetensors.index.json", "shard file name");
    write_text("model.safetensors.index.json", "{\"weight_map\":{\"x\":\"/etc/passwd\"}}");
    expect_dir_fail(SG_ERR_FORMAT, "model.safetensors.index.json", "shard file name");

    /* open_file / open_dir on paths that are not there */
    char path[256];
    snprintf(path, sizeof path, "%s/nope.safetensors", tmpdir);
    CHECK(sg_safetensors_open_file(&st, path, &e) == SG_ERR_IO && strstr(e.msg, path));
    CHECK(sg_safetensors_open_dir(&st, path, &e) != SG_OK && strstr(e.msg, path));

    remove_file("model.safetensors.index.json");
    remove_file("model-00001-of-00002.safetensors");
    remove_file("model-00002-of-00002.safetensors");
    CHECK(rmdir(tmpdir) == 0);
}

TEST_MAIN({
    test_valid();
    test_truncation_every_length();
    test_header_length();
    test_malformed();
    test_dirs();
})
