/* Library-wide entry points: version, error message of the calling thread, freeing. */
#include <stdlib.h>
#include <string.h>

#include "g4.h"
#include "engine/api_error.h"

static _Thread_local char last_error[512];

const char *g4_version(void)
{
    return "0.1.0";
}

const char *g4_last_error(void)
{
    return last_error;
}

void g4_free(void *ptr)
{
    free(ptr);
}

g4_status api_report(const g4_err *err)
{
    if (err->code == G4_OK) {
        last_error[0] = '\0';
        return G4_OK;
    }
    memcpy(last_error, err->msg, sizeof last_error);
    last_error[sizeof last_error - 1] = '\0';
    return err->code;
}

const char *g4_status_name(g4_status status)
{
    switch (status) {
    case G4_OK: return "ok";
    case G4_ERR_IO: return "I/O error";
    case G4_ERR_FORMAT: return "malformed input";
    case G4_ERR_UNSUPPORTED: return "unsupported";
    case G4_ERR_INVALID_ARG: return "invalid argument";
    case G4_ERR_NO_MEMORY: return "out of memory";
    case G4_ERR_CONTEXT_FULL: return "context full";
    case G4_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}
