/* A whole file's bytes at one read-only address range, usable at once.
 *
 * The file is mapped, so it can be read immediately (pages come from the page cache as
 * they are touched). With `promote` the image is made to sit on huge pages, from which
 * weights stream at close to memory bandwidth (4 KiB mappings do not allow it):
 *  - when the page cache already holds the file in huge pages (read through a mapping
 *    marked MADV_HUGEPAGE while it was not cached, as this one is), the mapping is used
 *    as it is: nothing is copied and other processes share the pages;
 *  - otherwise a background thread replaces the mapping, a chunk at a time, by private
 *    memory backed by huge pages holding the same bytes. Each chunk is read into a fresh
 *    region and moved over the mapped chunk with one mremap, so every address stays valid
 *    and holds the file's bytes throughout: readers never wait for the copy and never see
 *    a partial chunk. */
#ifndef G4_CORE_FILE_IMAGE_H
#define G4_CORE_FILE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct file_image file_image;

typedef struct file_image_options {
    bool promote;       /* put the bytes on huge pages (see above) */
    bool copy_always;   /* promote by copying even when the page cache has huge pages */
    size_t chunk_bytes; /* bytes moved per step; 0 = the default (64 MiB) */
} file_image_options;

/* Where an image's bytes live. */
typedef enum file_image_backing {
    FILE_IMAGE_MAPPED,          /* the page cache, as it comes (not promoted) */
    FILE_IMAGE_HUGE_PAGE_CACHE, /* the page cache, which holds the file in huge pages */
    FILE_IMAGE_PRIVATE_COPY,    /* private memory, filled in the background */
} file_image_backing;

/* Opens and maps path (a regular file). An empty file gets an image of no bytes. Errors
 * name the file and what failed (G4_ERR_IO). */
g4_status file_image_open(const char *path, const file_image_options *options,
                          file_image **out, g4_err *err);
const uint8_t *file_image_data(const file_image *image);
uint64_t file_image_size(const file_image *image);
file_image_backing file_image_backed_by(const file_image *image);
/* Blocks until a background copy has ended. True when the image is on huge pages (huge
 * page cache, or every byte copied); false when it was not promoted or the copy stopped
 * early (out of memory, a read error): the rest then stays mapped, which is slower but
 * just as correct. */
bool file_image_wait_promoted(file_image *image);
/* Stops a move in progress and releases the memory. */
void file_image_close(file_image *image);

#endif
