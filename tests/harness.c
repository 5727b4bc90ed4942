#include "harness.h"

#include <stdlib.h>

int test_checks_passed;
int test_checks_failed;

void test_record(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        test_checks_passed++;
        return;
    }
    test_checks_failed++;
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, expr);
}

const char *test_data_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", G4_TEST_DATA, name);
    return path;
}

char *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len + 65536 + 1 > cap) {
            cap = (len + 65536 + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        got = fread(buf + len, 1, 65536, f);
        len += got;
    } while (got > 0);
    fclose(f);
    buf[len] = '\0';
    if (size)
        *size = len;
    return buf;
}

int test_finish(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, test_checks_passed, test_checks_failed);
    return test_checks_failed == 0 && test_checks_passed > 0 ? 0 : 1;
}

test_bytes test_load_data(const char *name)
{
    test_bytes b = {0};
    b.data = (unsigned char *)test_read_file(test_data_path(name), &b.len);
    if (!b.data) {
        fprintf(stderr, "cannot read %s\n", test_data_path(name));
        exit(1);
    }
    return b;
}
