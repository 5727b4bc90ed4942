/* Bridges internal g4_err results to the public per-thread g4_last_error(). */
#ifndef G4_ENGINE_API_ERROR_H
#define G4_ENGINE_API_ERROR_H

#include "core/error.h"

/* Stores err's message as the thread's last error (or clears it) and returns err->code. */
g4_status api_report(const g4_err *err);

#endif
