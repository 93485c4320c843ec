/* hash.h - FNV-1a, 64 bits: a fast hash for telling texts apart (a
 * configuration's stamp, an envelope's digest), not for security. */
#ifndef SM_HASH_H
#define SM_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SM_FNV1A_INIT 0xcbf29ce484222325ULL

/* h extended with the n bytes at p (start with SM_FNV1A_INIT). */
static inline uint64_t sm_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

#endif
