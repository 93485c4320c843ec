/* test_hmac.c - digests and signatures cover every byte they are given,
 * the timestamped form included; FNV-1a's known answers. */
#include "testutil.h"
#include "sm/hash.h"
#include "sm/hmac.h"

/* A body with a NUL inside and bytes after it. */
static const char body[] = "{\"alerts\":[]}\0{\"extra\":1}";
#define BODY_LEN (sizeof body - 1)

static void stamped_is_stamp_dot_every_byte(void **state)
{
	char text[64], want[SM_SHA256_HEX], got[SM_SHA256_HEX];
	int p = snprintf(text, sizeof text, "%lld.", 1795310424LL);
	sm_error err = {0};

	(void)state;
	memcpy(text + p, body, BODY_LEN);
	assert_int_equal(sm_hmac_sha256_hex("s", 1, text, (size_t)p + BODY_LEN, want, &err), 0);
	assert_int_equal(sm_hmac_stamped_hex("s", 1, 1795310424LL, body, BODY_LEN, got, &err), 0);
	assert_string_equal(got, want);
	/* Push signatures: "1795310424.{}" as the agent signs it. */
	assert_int_equal(sm_hmac_sha256_hex("s", 1, "1795310424.{}", 13, want, &err), 0);
	assert_int_equal(sm_hmac_stamped_hex("s", 1, 1795310424LL, "{}", 2, got, &err), 0);
	assert_string_equal(got, want);
	assert_int_equal(sm_hmac_stamped_hex("s", 1, 1795310424LL, "", 0, got, &err), 0);
	assert_int_equal(sm_hmac_sha256_hex("s", 1, "1795310424.", 11, want, &err), 0);
	assert_string_equal(got, want);
}

static void stamped_verify_covers_bytes_after_a_nul(void **state)
{
	char whole[SM_SHA256_HEX], head[SM_SHA256_HEX], header[80];
	size_t head_len = strlen(body); /* up to the NUL */
	sm_error err = {0};

	(void)state;
	assert_int_equal(sm_hmac_stamped_hex("k", 1, 42, body, BODY_LEN, whole, &err), 0);
	assert_int_equal(sm_hmac_stamped_hex("k", 1, 42, body, head_len, head, &err), 0);
	assert_string_not_equal(whole, head);
	snprintf(header, sizeof header, "sha256=%s", whole);
	assert_int_equal(sm_hmac_verify_stamped("k", 1, 42, body, BODY_LEN, header, &err), 1);
	/* A signature of the part before the NUL does not vouch for the rest. */
	snprintf(header, sizeof header, "sha256=%s", head);
	assert_int_equal(sm_hmac_verify_stamped("k", 1, 42, body, BODY_LEN, header, &err), 0);
	assert_int_equal(sm_hmac_verify_stamped("k", 1, 43, body, head_len, header, &err), 0);
	assert_int_equal(sm_hmac_verify_stamped("k", 1, 42, body, head_len, header, &err), 1);
	assert_int_equal(sm_hmac_verify_stamped("k", 1, 42, body, BODY_LEN, NULL, &err), 0);
}

static void digest_covers_bytes_after_a_nul(void **state)
{
	char whole[SM_SHA256_HEX], head[SM_SHA256_HEX];

	(void)state;
	assert_int_equal(sm_sha256_hex(body, BODY_LEN, whole, NULL), 0);
	assert_int_equal(sm_sha256_hex(body, strlen(body), head, NULL), 0);
	assert_string_not_equal(whole, head);
}

/* Known answers: FIPS 180-2 (SHA-256 of "abc" and of the empty string),
 * RFC 4231 test case 2 (HMAC-SHA256). */
static void known_answers(void **state)
{
	char hex[SM_SHA256_HEX];
	sm_error err = {0};

	(void)state;
	assert_int_equal(sm_sha256_hex("abc", 3, hex, &err), 0);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(sm_sha256_hex("", 0, hex, &err), 0);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(
	    sm_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex, &err), 0);
	assert_string_equal(hex,
	                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(
	    sm_hmac_verify(
	        "Jefe", 4, "what do ya want for nothing?", 28,
	        "sha256=5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843", &err),
	    1);
}

/* The HMAC construction at each key length it treats differently (RFC
 * 4231 cases 1 and 6; a key of exactly one block; no key and no data). */
static void hmac_key_lengths(void **state)
{
	unsigned char block[64], long_key[131];
	char hex[SM_SHA256_HEX];
	static const char case6[] = "Test Using Larger Than Block-Size Key - Hash Key First";

	(void)state;
	memset(long_key, 0xaa, sizeof long_key);
	for (size_t i = 0; i < sizeof block; i++)
		block[i] = (unsigned char)i;
	assert_int_equal(sm_hmac_sha256_hex("\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b"
	                                    "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b",
	                                    20, "Hi There", 8, hex, NULL),
	                 0);
	assert_string_equal(hex,
	                    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	assert_int_equal(
	    sm_hmac_sha256_hex(long_key, sizeof long_key, case6, strlen(case6), hex, NULL), 0);
	assert_string_equal(hex,
	                    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	assert_int_equal(
	    sm_hmac_sha256_hex(block, sizeof block, "exactly one block of key", 24, hex, NULL), 0);
	assert_string_equal(hex,
	                    "aed89a53f83495834369f6c764db660e0e41d224347eb2b6f2054241399e36e2");
	assert_int_equal(sm_hmac_sha256_hex("", 0, "", 0, hex, NULL), 0);
	assert_string_equal(hex,
	                    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* FNV-1a 64: the published test vectors, and a hash built in pieces
 * equal to the hash of the whole. */
static void fnv1a_known_answers(void **state)
{
	(void)state;
	assert_true(sm_fnv1a(SM_FNV1A_INIT, "", 0) == 0xcbf29ce484222325ULL);
	assert_true(sm_fnv1a(SM_FNV1A_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(sm_fnv1a(SM_FNV1A_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
	assert_true(sm_fnv1a(sm_fnv1a(SM_FNV1A_INIT, "foo", 3), "bar", 3) ==
	            sm_fnv1a(SM_FNV1A_INIT, "foobar", 6));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(stamped_is_stamp_dot_every_byte),
	    cmocka_unit_test(stamped_verify_covers_bytes_after_a_nul),
	    cmocka_unit_test(digest_covers_bytes_after_a_nul),
	    cmocka_unit_test(known_answers),
	    cmocka_unit_test(fnv1a_known_answers),
	    cmocka_unit_test(hmac_key_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
