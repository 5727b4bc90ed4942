/* A minimal test harness: CHECK records a failure and carries on, test_finish prints
 * the "N passed, N failed" line and returns the exit code. */
#ifndef G4_TESTS_HARNESS_H
#define G4_TESTS_HARNESS_H

#include <stddef.h>
#include <stdio.h>

extern int test_checks_passed;
extern int test_checks_failed;

void test_record(int ok, const char *file, int line, const char *expr);

#define CHECK(cond) test_record(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_MSG(cond, ...)                                                                   \
    do {                                                                                       \
        int check_ok_ = !!(cond);                                                              \
        test_record(check_ok_, __FILE__, __LINE__, #cond);                                     \
        if (!check_ok_) {                                                                      \
            fprintf(stderr, "    ");                                                           \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fprintf(stderr, "\n");                                                             \
        }                                                                                      \
    } while (0)

/* Path of a file in tests/data. Returns a static buffer overwritten on the next call. */
const char *test_data_path(const char *name);

/* Reads a whole file into a malloc'd buffer (NUL-terminated); NULL on failure. */
char *test_read_file(const char *path, size_t *size);

/* A file in tests/data read whole; a missing file ends the test run with a message. */
typedef struct test_bytes {
    unsigned char *data;
    size_t len;
} test_bytes;
test_bytes test_load_data(const char *name);

int test_finish(const char *suite);

#endif
