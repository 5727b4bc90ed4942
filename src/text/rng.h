/* A small seedable pseudo-random generator (xoshiro256**, seeded through splitmix64):
 * fast, the same sequence for the same seed on every platform, not for cryptography. */
#ifndef G4_TEXT_RNG_H
#define G4_TEXT_RNG_H

#include <stdint.h>

typedef struct g4_rng {
    uint64_t state[4];
} g4_rng;

/* Every seed, 0 included, gives its own sequence. */
void g4_rng_seed(g4_rng *rng, uint64_t seed);
uint64_t g4_rng_next(g4_rng *rng);
/* Uniform in [0, 1), with 53 random bits. */
double g4_rng_uniform(g4_rng *rng);
/* A seed that differs from run to run: /dev/urandom mixed with the clock. */
uint64_t g4_rng_entropy_seed(void);

#endif
