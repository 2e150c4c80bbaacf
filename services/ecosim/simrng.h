/* simrng: the simulator's own pseudo-random numbers, so that a run is a pure
 * function of its seed on every platform (rand() differs between C
 * libraries and is shared process state).
 *
 * Two kinds:
 *   - a stream generator (xoshiro256**, seeded through splitmix64) for
 *     things drawn in sequence, such as the incident schedule;
 *   - stateless hashing (splitmix64's finaliser) for values that must be
 *     computable for any instant in any order, such as the smooth noise of
 *     the value model: same key, same number, whatever ran before.
 *
 * Pure, no allocation; a struct simrng must not be shared between threads. */
#ifndef ECO_SIMRNG_H
#define ECO_SIMRNG_H

#include <stdint.h>

struct simrng {
    uint64_t s[4];
};

/* Seeds the state from one 64-bit number (any value, 0 included). */
void simrng_seed(struct simrng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t simrng_next(struct simrng *r);

/* Uniform in [0, 1), 53 bits. */
double simrng_unit(struct simrng *r);

/* Uniform in [lo, hi). */
double simrng_range(struct simrng *r, double lo, double hi);

/* Uniform integer in [0, n); n == 0 gives 0. Unbiased (rejection). */
uint32_t simrng_below(struct simrng *r, uint32_t n);

/* Exponentially distributed with the given mean. */
double simrng_exp(struct simrng *r, double mean);

/* Standard normal (Box-Muller, one value per call). */
double simrng_normal(struct simrng *r);

/* Stateless: a well-mixed 64-bit function of x (splitmix64 finaliser). */
uint64_t simrng_mix(uint64_t x);

/* Stateless: mixes two words, order-dependent. */
uint64_t simrng_mix2(uint64_t a, uint64_t b);

/* Stateless: 64-bit FNV-1a of a NUL-terminated string, then mixed. Keys
 * values to names (site codes), so adding a site never changes another. */
uint64_t simrng_hash_str(const char *s);

/* Stateless: a hash as a uniform double in [0, 1). */
double simrng_hash_unit(uint64_t h);

#endif
