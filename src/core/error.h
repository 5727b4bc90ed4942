/* Error reporting inside the library: functions return a g4_status and, on failure,
 * leave a human-readable message in the caller's g4_err. Library code never prints. */
#ifndef G4_CORE_ERROR_H
#define G4_CORE_ERROR_H

#include "g4.h"

typedef struct g4_err {
    g4_status code;
    char msg[512];
} g4_err;

/* Records code and the formatted message in err (which may be NULL) and returns code. */
g4_status g4_fail(g4_err *err, g4_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes an already-recorded message with more context ("loading x: <old message>"). */
g4_status g4_fail_context(g4_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
