#include "simrng.h"

#include <math.h>

/* M_PI is an XSI extension; spell it out for strict C11 + POSIX. */
#define SIMRNG_TWO_PI 6.283185307179586476925

/* splitmix64 (Steele, Lea, Flood 2014): one step of the generator; also the
 * seeding procedure recommended for xoshiro, since it never yields an
 * all-zero state from a run of outputs. */
static uint64_t simrng__splitmix(uint64_t *x)
{
    *x += 0x9e3779b97f4a7c15ULL;
    return simrng_mix(*x);
}

uint64_t simrng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t simrng_mix2(uint64_t a, uint64_t b)
{
    return simrng_mix(simrng_mix(a + 0x9e3779b97f4a7c15ULL) ^ b);
}

uint64_t simrng_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return simrng_mix(h);
}

double simrng_hash_unit(uint64_t h)
{
    return (double)(h >> 11) * 0x1.0p-53;
}

void simrng_seed(struct simrng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = simrng__splitmix(&x);
}

static uint64_t simrng__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman, Vigna 2018), written from the published
 * description: small state, passes BigCrush, fast. */
uint64_t simrng_next(struct simrng *r)
{
    uint64_t *s = r->s;
    uint64_t out = simrng__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = simrng__rotl(s[3], 45);
    return out;
}

double simrng_unit(struct simrng *r)
{
    return simrng_hash_unit(simrng_next(r));
}

double simrng_range(struct simrng *r, double lo, double hi)
{
    return lo + (hi - lo) * simrng_unit(r);
}

uint32_t simrng_below(struct simrng *r, uint32_t n)
{
    uint64_t lim, x;

    if (n == 0)
        return 0;
    /* Reject the top partial bucket so every residue is equally likely. */
    lim = UINT64_MAX - UINT64_MAX % n;
    do
        x = simrng_next(r);
    while (x >= lim);
    return (uint32_t)(x % n);
}

double simrng_exp(struct simrng *r, double mean)
{
    /* 1 - u is in (0, 1], so the log is finite. */
    return -mean * log(1.0 - simrng_unit(r));
}

double simrng_normal(struct simrng *r)
{
    double u1 = 1.0 - simrng_unit(r), u2 = simrng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(SIMRNG_TWO_PI * u2);
}
