/* core/file_image: a file's bytes are readable at once and stay equal to the file while a
 * background thread moves them, chunk by chunk, from the mapping into private memory;
 * afterwards no part of the range is backed by the file any more. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_image.h"
#include "harness.h"

static char temp_dir[] = "/tmp/test_file_image.XXXXXX";

static const char *temp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", temp_dir, name);
    return path;
}

/* A file of `size` pseudo-random bytes (a fixed xorshift stream); returns its bytes. */
static uint8_t *write_random_file(const char *path, size_t size)
{
    uint8_t *bytes = malloc(size);
    FILE *f = fopen(path, "wb");
    if (!bytes || !f) {
        free(bytes);
        if (f)
            fclose(f);
        return NULL;
    }
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < size; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes[i] = (uint8_t)state;
    }
    size_t written = fwrite(bytes, 1, size, f);
    fclose(f);
    if (written != size) {
        free(bytes);
        return NULL;
    }
    return bytes;
}

/* Compares the image with the expected bytes, over and over, until told to stop. */
typedef struct reader {
    const uint8_t *image;
    const uint8_t *expected;
    size_t size;
    atomic_bool stop;
    int passes;
    int mismatches;
} reader;

static void *read_repeatedly(void *arg)
{
    reader *r = arg;
    do {
        for (size_t at = 0; at < r->size; at += 4096) {
            size_t n = r->size - at < 4096 ? r->size - at : 4096;
            r->mismatches += memcmp(r->image + at, r->expected + at, n) != 0;
        }
        r->passes++;
    } while (!atomic_load(&r->stop));
    return NULL;
}

/* Lines of /proc/self/maps that overlap [start, start + size) and name `path`. */
static int mappings_of_file(const uint8_t *start, size_t size, const char *path)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps)
        return -1;
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, maps)) {
        uintptr_t lo = 0, hi = 0;
        if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
            continue;
        bool overlaps = lo < (uintptr_t)start + size && hi > (uintptr_t)start;
        found += overlaps && strstr(line, path) != NULL;
    }
    fclose(maps);
    return found;
}

/* 11 chunks of 2 MiB and a partial one, copied while another thread reads them all. */
static void test_promotion_under_readers(void)
{
    const size_t size = ((size_t)23 << 20) + 12345;
    const char *path = temp_path("promoted.bin");
    uint8_t *expected = write_random_file(path, size);
    CHECK(expected != NULL);
    if (!expected)
        return;
    file_image_options options = {.promote = true, .copy_always = true,
                                  .chunk_bytes = (size_t)2 << 20};
    file_image *image = NULL;
    g4_err err = {0};
    CHECK_MSG(file_image_open(path, &options, &image, &err) == G4_OK, "%s", err.msg);
    if (image) {
        CHECK(file_image_size(image) == size);
        CHECK(file_image_backed_by(image) == FILE_IMAGE_PRIVATE_COPY);
        reader r = {.image = file_image_data(image), .expected = expected, .size = size};
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, read_repeatedly, &r) == 0);
        CHECK(file_image_wait_promoted(image));
        atomic_store(&r.stop, true);
        pthread_join(thread, NULL);
        CHECK(r.passes >= 1);
        CHECK_MSG(r.mismatches == 0, "%d mismatching pages over %d passes", r.mismatches,
                  r.passes);
        CHECK(memcmp(file_image_data(image), expected, size) == 0);
        CHECK(mappings_of_file(file_image_data(image), size, path) == 0);
        CHECK(file_image_wait_promoted(image)); /* a second wait returns at once */
    }
    file_image_close(image);
    unlink(path);
    free(expected);
}

/* Bytes of the range's mappings that are huge pages of the page cache. */
static uint64_t file_huge_bytes(const uint8_t *start, size_t size)
{
    FILE *smaps = fopen("/proc/self/smaps", "r");
    if (!smaps)
        return 0;
    char line[1024];
    bool overlaps = false;
    uint64_t total = 0, kib = 0;
    while (fgets(line, sizeof line, smaps)) {
        uintptr_t lo = 0, hi = 0;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
            overlaps = lo < (uintptr_t)start + size && hi > (uintptr_t)start;
        else if (overlaps && sscanf(line, "FilePmdMapped: %lu kB", &kib) == 1)
            total += kib * 1024;
    }
    fclose(smaps);
    return total;
}

/* Promotion without copy_always: either the page cache's huge pages are mapped (the file
 * was just written in one piece, which file systems with large folios store in huge
 * pages) and the file stays mapped, or the bytes are copied and it is mapped no more. */
static void test_promotion_picks_backing(void)
{
    const size_t size = (size_t)16 << 20;
    const char *path = temp_path("auto.bin");
    uint8_t *expected = write_random_file(path, size);
    file_image_options options = {.promote = true};
    file_image *image = NULL;
    g4_err err = {0};
    CHECK_MSG(file_image_open(path, &options, &image, &err) == G4_OK, "%s", err.msg);
    if (image && expected) {
        CHECK(file_image_wait_promoted(image));
        CHECK(memcmp(file_image_data(image), expected, size) == 0);
        file_image_backing backing = file_image_backed_by(image);
        CHECK(backing == FILE_IMAGE_HUGE_PAGE_CACHE || backing == FILE_IMAGE_PRIVATE_COPY);
        if (backing == FILE_IMAGE_HUGE_PAGE_CACHE) {
            CHECK(mappings_of_file(file_image_data(image), size, path) == 1);
            CHECK_MSG(file_huge_bytes(file_image_data(image), size) * 4 >= size * 3,
                      "%lu of %zu bytes on huge pages",
                      (unsigned long)file_huge_bytes(file_image_data(image), size), size);
        } else {
            CHECK(mappings_of_file(file_image_data(image), size, path) == 0);
        }
        printf("a file just written is backed by %s\n",
               backing == FILE_IMAGE_HUGE_PAGE_CACHE ? "huge pages of the page cache"
                                                     : "a private copy");
    }
    file_image_close(image);
    unlink(path);
    free(expected);
}

/* Without promotion the image stays the file's mapping. */
static void test_mapped_only(void)
{
    const size_t size = (size_t)3 << 20;
    const char *path = temp_path("mapped.bin");
    uint8_t *expected = write_random_file(path, size);
    file_image *image = NULL;
    g4_err err = {0};
    CHECK_MSG(file_image_open(path, NULL, &image, &err) == G4_OK, "%s", err.msg);
    if (image && expected) {
        CHECK(memcmp(file_image_data(image), expected, size) == 0);
        CHECK(!file_image_wait_promoted(image));
        CHECK(file_image_backed_by(image) == FILE_IMAGE_MAPPED);
        CHECK(mappings_of_file(file_image_data(image), size, path) == 1);
    }
    file_image_close(image);
    unlink(path);
    free(expected);
}

/* Closing while the move runs stops it cleanly (under ASan: no leak, no stray access). */
static void test_close_during_move(void)
{
    const size_t size = (size_t)40 << 20;
    const char *path = temp_path("closed.bin");
    uint8_t *expected = write_random_file(path, size);
    file_image_options options = {.promote = true, .copy_always = true,
                                  .chunk_bytes = (size_t)2 << 20};
    for (int round = 0; round < 3 && expected; round++) {
        file_image *image = NULL;
        g4_err err = {0};
        CHECK_MSG(file_image_open(path, &options, &image, &err) == G4_OK, "%s", err.msg);
        if (image)
            CHECK(file_image_data(image)[size - 1] == expected[size - 1]);
        file_image_close(image);
    }
    unlink(path);
    free(expected);
}

static void test_bad_paths(void)
{
    file_image_options options = {.promote = true};
    file_image *image = NULL;
    g4_err err = {0};
    CHECK(file_image_open("/nonexistent/file.bin", &options, &image, &err) == G4_ERR_IO);
    CHECK(image == NULL && strstr(err.msg, "/nonexistent/file.bin") != NULL);
    CHECK(file_image_open(temp_dir, &options, &image, &err) == G4_ERR_IO);
    CHECK(strstr(err.msg, "not a regular file") != NULL);

    const char *empty = temp_path("empty.bin");
    FILE *f = fopen(empty, "wb");
    if (f)
        fclose(f);
    CHECK_MSG(file_image_open(empty, &options, &image, &err) == G4_OK, "%s", err.msg);
    if (image) {
        CHECK(file_image_size(image) == 0);
        CHECK(!file_image_wait_promoted(image));
    }
    file_image_close(image);
    unlink(empty);
}

int main(void)
{
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_promotion_under_readers();
    test_promotion_picks_backing();
    test_mapped_only();
    test_close_during_move();
    test_bad_paths();
    rmdir(temp_dir);
    return test_finish("file_image");
}
