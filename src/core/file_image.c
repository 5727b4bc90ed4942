/* Mapping a file, then moving it into huge pages behind the readers' backs (mremap). */
#define _GNU_SOURCE /* mremap, MREMAP_FIXED */
#include "core/file_image.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HUGE_PAGE_BYTES ((size_t)2 << 20)
#define DEFAULT_CHUNK_BYTES ((size_t)64 << 20)

struct file_image {
    uint8_t *base;       /* 2 MiB aligned, so chunks line up with huge pages */
    uint64_t size;
    size_t mapped_bytes; /* size rounded up to whole pages */
    int fd;              /* open while the move runs */
    size_t chunk_bytes;
    pthread_t mover;
    bool has_mover;
    atomic_bool stop;
    pthread_mutex_t lock;
    pthread_cond_t ended;
    bool move_ended;     /* guarded by lock */
    bool all_promoted;   /* guarded by lock */
    file_image_backing backing;
};

static g4_status fail_errno(g4_err *err, const char *path, const char *what)
{
    char buffer[128];
    const char *reason = strerror_r(errno, buffer, sizeof buffer); /* the GNU strerror_r */
    return g4_fail(err, G4_ERR_IO, "%s: %s: %s", path, what, reason);
}

static size_t round_up(size_t n, size_t unit)
{
    return (n + unit - 1) / unit * unit;
}

/* An address range of `bytes` that starts on a huge-page boundary: a larger reservation
 * with its unaligned head and tail given back. MAP_FAILED when out of address space. */
static void *reserve_aligned(size_t bytes)
{
    size_t padded = bytes + HUGE_PAGE_BYTES;
    uint8_t *raw = mmap(NULL, padded, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                        -1, 0);
    if (raw == MAP_FAILED)
        return MAP_FAILED;
    uint8_t *aligned = (uint8_t *)round_up((uintptr_t)raw, HUGE_PAGE_BYTES);
    if (aligned > raw)
        munmap(raw, (size_t)(aligned - raw));
    size_t tail = padded - (size_t)(aligned - raw) - bytes;
    if (tail > 0)
        munmap(aligned + bytes, tail);
    return aligned;
}

/* Private memory for one chunk, asking for huge pages, filled from the file. NULL when
 * memory or the read fails (the caller then keeps the mapping). */
static uint8_t *read_chunk(int fd, uint64_t offset, size_t bytes, size_t region_bytes)
{
    uint8_t *region = reserve_aligned(region_bytes);
    if (region == MAP_FAILED)
        return NULL;
    if (mprotect(region, region_bytes, PROT_READ | PROT_WRITE) != 0) {
        munmap(region, region_bytes);
        return NULL;
    }
    madvise(region, region_bytes, MADV_HUGEPAGE); /* only a hint: failure is harmless */
    for (size_t done = 0; done < bytes;) {
        ssize_t got = pread(fd, region + done, bytes - done, (off_t)(offset + done));
        if (got <= 0 && !(got < 0 && errno == EINTR)) {
            munmap(region, region_bytes);
            return NULL;
        }
        done += got > 0 ? (size_t)got : 0;
    }
    mprotect(region, region_bytes, PROT_READ);
    return region;
}

/* Replaces the mapped chunk at offset by a private copy; false when that failed and the
 * mapping stays. The bytes past the end of the file in the last page are zero in both. */
static bool promote_chunk(file_image *image, uint64_t offset)
{
    size_t bytes = (size_t)(image->size - offset) < image->chunk_bytes
                       ? (size_t)(image->size - offset) : image->chunk_bytes;
    size_t region_bytes = round_up(bytes, (size_t)sysconf(_SC_PAGESIZE));
    uint8_t *copy = read_chunk(image->fd, offset, bytes, region_bytes);
    if (!copy)
        return false;
    void *moved = mremap(copy, region_bytes, region_bytes, MREMAP_MAYMOVE | MREMAP_FIXED,
                         image->base + offset);
    if (moved == MAP_FAILED) {
        munmap(copy, region_bytes);
        return false;
    }
    return true;
}

static void *move_into_private_memory(void *arg)
{
    file_image *image = arg;
    bool complete = true;
    for (uint64_t offset = 0; offset < image->size && complete;
         offset += image->chunk_bytes) {
        if (atomic_load_explicit(&image->stop, memory_order_relaxed))
            complete = false;
        else
            complete = promote_chunk(image, offset);
    }
    close(image->fd);
    image->fd = -1;
    pthread_mutex_lock(&image->lock);
    image->move_ended = true;
    image->all_promoted = complete;
    pthread_cond_broadcast(&image->ended);
    pthread_mutex_unlock(&image->lock);
    return NULL;
}

static g4_status open_regular(const char *path, int *fd, uint64_t *size, g4_err *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return fail_errno(err, path, "cannot open");
    struct stat st;
    if (fstat(*fd, &st) != 0)
        return fail_errno(err, path, "cannot stat");
    if (!S_ISREG(st.st_mode))
        return g4_fail(err, G4_ERR_IO, "%s: not a regular file", path);
    if ((uint64_t)st.st_size > SIZE_MAX / 2)
        return g4_fail(err, G4_ERR_IO, "%s: too large to map", path);
    *size = (uint64_t)st.st_size;
    return G4_OK;
}

static g4_status map_whole_file(const char *path, file_image *image, g4_err *err)
{
    image->mapped_bytes = round_up((size_t)image->size, (size_t)sysconf(_SC_PAGESIZE));
    void *range = reserve_aligned(image->mapped_bytes);
    if (range == MAP_FAILED)
        return fail_errno(err, path, "cannot reserve address space for");
    void *map = mmap(range, image->mapped_bytes, PROT_READ, MAP_PRIVATE | MAP_FIXED,
                     image->fd, 0);
    if (map == MAP_FAILED) {
        g4_status status = fail_errno(err, path, "cannot map");
        munmap(range, image->mapped_bytes);
        return status;
    }
    image->base = map;
    /* Where the page cache holds the file in huge pages, or reads it in now, they are
     * mapped whole (a hint: failure is harmless). */
    madvise(map, image->mapped_bytes, MADV_HUGEPAGE);
    return G4_OK;
}

/* Bytes of the mapping that starts at `start` that are mapped with huge pages of the page
 * cache (the "FilePmdMapped" line of its /proc/self/smaps entry); 0 when unknown. */
static uint64_t huge_mapped_bytes(const uint8_t *start)
{
    FILE *smaps = fopen("/proc/self/smaps", "r");
    if (!smaps)
        return 0;
    char line[512];
    bool inside = false;
    uint64_t kib = 0;
    while (fgets(line, sizeof line, smaps)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            if (inside)
                break;
            inside = lo == (uintptr_t)start;
        } else if (inside && sscanf(line, "FilePmdMapped: %" SCNu64 " kB", &kib) == 1) {
            break;
        }
    }
    fclose(smaps);
    return kib * 1024;
}

/* Whether the page cache already holds the file in huge pages (the kernel reads it that
 * way through a mapping marked MADV_HUGEPAGE when it was not cached, and some file systems
 * write it that way): touching a sample of 2 MiB blocks maps them whole. Then there is
 * nothing to move, and every process mapping the file shares those pages. */
static bool page_cache_is_huge(const file_image *image)
{
    uint64_t blocks = image->size / HUGE_PAGE_BYTES;
    uint64_t samples = blocks < 16 ? blocks : 16;
    if (samples == 0)
        return false;
    for (uint64_t i = 0; i < samples; i++) {
        const volatile uint8_t *block = image->base + i * blocks / samples * HUGE_PAGE_BYTES;
        (void)*block;
    }
    return huge_mapped_bytes(image->base) * 4 >= samples * HUGE_PAGE_BYTES * 3;
}

/* Starts the move; without a thread the image simply stays mapped. */
static void start_mover(file_image *image, size_t chunk_bytes)
{
    image->chunk_bytes = round_up(chunk_bytes ? chunk_bytes : DEFAULT_CHUNK_BYTES,
                                  HUGE_PAGE_BYTES);
    posix_fadvise(image->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    image->has_mover = pthread_create(&image->mover, NULL, move_into_private_memory,
                                      image) == 0;
    if (image->has_mover)
        return;
    close(image->fd);
    image->fd = -1;
    image->move_ended = true;
}

/* Huge pages for the image: those of the page cache when it has them, else a private copy
 * made in the background. */
static void promote(file_image *image, const file_image_options *options)
{
    if (!options->copy_always && page_cache_is_huge(image)) {
        image->backing = FILE_IMAGE_HUGE_PAGE_CACHE;
        image->all_promoted = true;
        close(image->fd);
        image->fd = -1;
        return;
    }
    image->backing = FILE_IMAGE_PRIVATE_COPY;
    image->move_ended = false;
    start_mover(image, options->chunk_bytes);
}

g4_status file_image_open(const char *path, const file_image_options *options,
                          file_image **out, g4_err *err)
{
    *out = NULL;
    file_image *image = calloc(1, sizeof *image);
    if (!image)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    image->fd = -1;
    image->move_ended = true;
    pthread_mutex_init(&image->lock, NULL);
    pthread_cond_init(&image->ended, NULL);
    g4_status status = open_regular(path, &image->fd, &image->size, err);
    if (status == G4_OK && image->size > 0)
        status = map_whole_file(path, image, err);
    if (status != G4_OK) {
        file_image_close(image);
        return status;
    }
    if (options && options->promote && image->size > 0) {
        promote(image, options);
    } else {
        close(image->fd);
        image->fd = -1;
    }
    *out = image;
    return G4_OK;
}

const uint8_t *file_image_data(const file_image *image)
{
    return image->base;
}

uint64_t file_image_size(const file_image *image)
{
    return image->size;
}

file_image_backing file_image_backed_by(const file_image *image)
{
    return image->backing;
}

bool file_image_wait_promoted(file_image *image)
{
    pthread_mutex_lock(&image->lock);
    while (!image->move_ended)
        pthread_cond_wait(&image->ended, &image->lock);
    bool promoted = image->all_promoted;
    pthread_mutex_unlock(&image->lock);
    return promoted;
}

void file_image_close(file_image *image)
{
    if (!image)
        return;
    if (image->has_mover) {
        atomic_store(&image->stop, true);
        pthread_join(image->mover, NULL);
    }
    if (image->fd >= 0)
        close(image->fd);
    if (image->base)
        munmap(image->base, image->mapped_bytes);
    pthread_cond_destroy(&image->ended);
    pthread_mutex_destroy(&image->lock);
    free(image);
}
