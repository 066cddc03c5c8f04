/* design: any request body through every advise endpoint function never crashes, and
 * each either answers or refuses with a 4xx. The knowledge base is the shipped one. */
#include "design/design.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static design_kb *kb;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    err e = {0};
    kb = design_kb_load(FUZZ_DATA_DIR, &e);
    if (!kb) {
        fprintf(stderr, "fuzz_design: %s\n", e.msg);
        abort();
    }
    return 0;
}

typedef json_t *(*fn)(const design_kb *, const json_t *, err *);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const fn fns[] = {design_estimate_total_cost, design_diy_instructions,
                             design_proposal_initial,    design_proposal_refine,
                             design_prompt_generate,     design_refine_budget,
                             design_reason_upgrades,     design_condition_detect,
                             design_advise_structured,   design_advise_json};
    json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        err e = {0};
        json_t *r = fns[i](kb, body, &e);
        if (!r && (e.status < 400 || e.status > 499)) abort();
        if (r) free(http_json_dumps(r, NULL));
        json_decref(r);
    }
    /* The same bytes as /vision/analyze's detection_data and /advise/'s query. */
    char *text = strndup((const char *)data, size);
    err e = {0};
    json_decref(design_vision_analyze(kb, text, NULL, &e));
    design_advise_params p = {text, size & 1 ? text : NULL, text, size & 2 ? text : NULL, NULL,
                              text};
    json_t *r = design_advise_photo(kb, &p, NULL, &e);
    if (!r) abort();
    json_decref(r);
    free(text);
    json_decref(body);
    return 0;
}
