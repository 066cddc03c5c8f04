/* Walking contract-goldens.jsonl: loading the records, the deliberate deviations, and the
 * matching rules of CONTRACT "Our decisions" 5 — keys in order, int vs float, numbers and
 * data strings exactly; free text (descriptions, DIY wording) only by type; the lists of
 * /advise/reason-upgrades as sets; the three DIY lists we always add (§16) allowed. */
#ifndef ARTISTRY_TESTS_GOLDEN_H
#define ARTISTRY_TESTS_GOLDEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* $ARTISTRY_SHARED, else <source root>/../shared. */
const char *golden_shared_dir(void);
/* <source root>/<rel>. */
const char *golden_source_path(const char *rel);
/* Every record of the goldens file as an array (new reference), or NULL. */
json_t *golden_load(void);
/* Applies tests/design/golden-deviations.json to the records whose path and request or
 * query fields match; returns how many records were changed. */
int golden_apply_deviations(json_t *records);
/* Compares an answer with a record's recorded response; on mismatch returns false and
 * writes the JSON path and the difference into why. */
bool golden_match(const char *endpoint, const json_t *want, const json_t *got, char *why,
                  size_t whysz);

#endif
