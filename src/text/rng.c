#include "text/rng.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

/* splitmix64 spreads any seed (even 0 or small integers) over the whole state. */
static uint64_t splitmix64_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint64_t rotate_left(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void g4_rng_seed(g4_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->state[i] = splitmix64_next(&seed);
}

uint64_t g4_rng_next(g4_rng *rng)
{
    uint64_t *s = rng->state;
    uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotate_left(s[3], 45);
    return result;
}

double g4_rng_uniform(g4_rng *rng)
{
    return (double)(g4_rng_next(rng) >> 11) * 0x1.0p-53;
}

static uint64_t clock_nanoseconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

uint64_t g4_rng_entropy_seed(void)
{
    /* The clock alone would repeat for two samplers created in the same tick. */
    uint64_t seed = clock_nanoseconds();
    uint64_t random_bits = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &random_bits, sizeof random_bits) == (ssize_t)sizeof random_bits)
            seed ^= random_bits;
        close(fd);
    }
    return seed;
}
