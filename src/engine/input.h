/* The object behind g4_input: an expanded prompt whose soft-token positions point at the
 * media rows that fill them. */
#ifndef G4_ENGINE_INPUT_H
#define G4_ENGINE_INPUT_H

#include "engine/media.h"

struct g4_input {
    int32_t *ids;
    size_t n;
    const g4_media **media; /* [n] the media behind each soft token; NULL at text positions */
    int32_t *row;           /* [n] the soft token's row in its media */
    int32_t *block_last;    /* [n] for image and video-frame soft tokens, the index of the
                               last token of their bidirectional block; else -1 */
};

#endif
