/*
 * from_model.c -- the tokenizer of a loaded model.
 *
 * A GGUF model's tokenizer comes from the metadata the model loader already
 * parsed (no second read of the file); a Hugging Face directory's from its
 * tokenizer.json. Kept apart from load.c so that programs using only the
 * tokenizer (fuzz targets, tools) do not pull in the model code.
 */
#include "model/model.h"
#include "tokenizer/tokenizer.h"

sg_status sg_tokenizer_from_model(const sg_model *m, sg_tokenizer **out, sg_error *err)
{
    *out = NULL;
    if (!m) return sg_fail(err, SG_ERR_INVALID, "sg_tokenizer_from_model: no model");
    if (m->format == SG_FORMAT_GGUF) return sg_tok_from_gguf(&m->gguf, m->path, out, err);
    return sg_tokenizer_load(m->path, out, err);
}
