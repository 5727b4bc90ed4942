#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

g4_status g4_fail(g4_err *err, g4_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

g4_status g4_fail_context(g4_err *err, const char *fmt, ...)
{
    if (!err)
        return G4_ERR_INTERNAL;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Shift the old message right and put "prefix: " in front (truncating the tail). */
    size_t prefix_len = strlen(prefix) + 2; /* prefix is at most 255 bytes */
    size_t old_len = strnlen(err->msg, sizeof err->msg - 1);
    if (prefix_len + old_len >= sizeof err->msg)
        old_len = sizeof err->msg - 1 - prefix_len;
    memmove(err->msg + prefix_len, err->msg, old_len);
    err->msg[prefix_len + old_len] = '\0';
    memcpy(err->msg, prefix, prefix_len - 2);
    memcpy(err->msg + prefix_len - 2, ": ", 2);
    return err->code;
}
