/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_RNG_H
#define NCBENCH_RNG_H
/*
 * A small seeded PRNG (splitmix64 to seed, xoshiro256** to draw) so that
 * generated rule sets and traces are the same for a seed on every machine
 * and libc.  Not for cryptography.
 */
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

static inline uint64_t rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = rng_splitmix(&seed);
}

static inline uint64_t rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return res;
}

/** Uniform in [lo, hi] (inclusive); the modulo bias is below 2^-32 for our ranges. */
static inline uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo;

	if (span == UINT64_MAX)
		return rng_next(r);
	return lo + rng_next(r) % (span + 1);
}

/** Uniform double in [0, 1). */
static inline double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/** Index drawn from weights[0..n) (need not sum to 1). */
static inline unsigned rng_pick(struct rng *r, const double *weights, unsigned n)
{
	double sum = 0, x;
	unsigned i;

	for (i = 0; i < n; i++)
		sum += weights[i];
	x = rng_unit(r) * sum;
	for (i = 0; i + 1 < n; i++) {
		if (x < weights[i])
			return i;
		x -= weights[i];
	}
	return n - 1;
}
#endif
