/* yolo class names: Ultralytics' `names` metadata comes from whatever model file a user
 * points MODEL_PATH at. Any text gives names or a 400, and parsed names are consistent:
 * n strings, each NUL-terminated inside the one allocation. */
#include "vision/yolo/yolo.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    err e = {0};
    char **names = NULL;
    int n = yolo_parse_names((const char *)data, size, &names, &e);
    if (n < 0) {
        if (e.status != 400 || names || strncmp(e.msg, "class names: ", 13) != 0) abort();
        return 0;
    }
    if (n == 0 || !names) abort();
    size_t total = 0;
    for (int i = 0; i < n; i++) total += strlen(names[i]) + 1;
    /* the strings came from the text: never more bytes than it had */
    if (total > size + 1) abort();
    free(names);
    return 0;
}
