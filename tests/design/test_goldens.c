/* Every advise record of contract-goldens.jsonl, answered by the design functions and
 * compared under the contract's matching rules (golden.c). */
#include "design/design.h"
#include "golden.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *answer(const design_kb *kb, const json_t *rec, err *e)
{
    const char *path = json_string_value(json_object_get(rec, "path"));
    const json_t *body = json_object_get(rec, "request");
    if (strcmp(path, "/estimate/total-cost") == 0) return design_estimate_total_cost(kb, body, e);
    if (strcmp(path, "/diy/instructions") == 0) return design_diy_instructions(kb, body, e);
    if (strcmp(path, "/proposal/initial") == 0) return design_proposal_initial(kb, body, e);
    if (strcmp(path, "/proposal/refine") == 0) return design_proposal_refine(kb, body, e);
    if (strcmp(path, "/prompt/generate") == 0) return design_prompt_generate(kb, body, e);
    if (strcmp(path, "/advise/refine-budget") == 0) return design_refine_budget(kb, body, e);
    if (strcmp(path, "/advise/reason-upgrades") == 0) return design_reason_upgrades(kb, body, e);
    if (strcmp(path, "/vision/analyze") == 0) {
        const char *dd =
            json_string_value(json_object_get(json_object_get(rec, "query"), "detection_data"));
        return design_vision_analyze(kb, dd, NULL, e);
    }
    err_set(e, 404, "no design function for %s", path);
    return NULL;
}

Test(goldens, every_advise_record_matches)
{
    json_t *all = golden_load();
    cr_assert_not_null(all, "cannot read %s/contract-goldens.jsonl (set ARTISTRY_SHARED)",
                       golden_shared_dir());
    int deviated = golden_apply_deviations(all);
    cr_assert_eq(deviated, 9, "expected the 9 documented deviations to apply, got %d", deviated);
    err e = {0};
    design_kb *kb = design_kb_load(golden_source_path("data"), &e);
    cr_assert_not_null(kb, "%s", e.msg);
    int total = 0, passed = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *rec = json_array_get(all, i);
        if (strcmp(json_string_value(json_object_get(rec, "service")), "advise") != 0) continue;
        total++;
        err_clear(&e);
        json_t *got = answer(kb, rec, &e);
        int status = got ? 200 : e.status;
        char why[1024] = "";
        bool ok = status == json_integer_value(json_object_get(rec, "status")) &&
                  golden_match(json_string_value(json_object_get(rec, "path")),
                               json_object_get(rec, "response"), got, why, sizeof why);
        if (ok) {
            passed++;
        } else {
            char *req = json_dumps(json_object_get(rec, "request"), JSON_COMPACT);
            cr_log_error("golden %zu %s %s: status %d %s %s", i + 1,
                         json_string_value(json_object_get(rec, "path")), req ? req : "null",
                         status, e.msg, why);
            free(req);
        }
        json_decref(got);
    }
    printf("goldens: advise %d/%d match (%d answered differently on purpose, see "
           "tests/design/golden-deviations.json)\n",
           passed, total, deviated);
    cr_expect_eq(total, 161);
    cr_expect_eq(passed, total, "%d of %d advise goldens differ", total - passed, total);
    design_kb_free(kb);
    json_decref(all);
}
