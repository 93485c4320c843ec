/* test_stream.c - the batch ingest engine through its API: envelopes after
 * the commit, refusals through the report callback with their exit status,
 * dry runs that store nothing, and a read error. */
#include <fcntl.h>
#include <unistd.h>
#include "testutil.h"
#include "sm/stream.h"

static const char *dir, *db;
static char reported[4][256];
static int codes[4], nreported;

static void collect(void *ctx, int code, const char *message)
{
	(void)ctx;
	if (nreported < 4) {
		snprintf(reported[nreported], sizeof reported[0], "%s", message);
		codes[nreported] = code;
	}
	nreported++;
}

/* A descriptor reading text (a file, so no writer thread is needed). */
static int input(const char *text)
{
	char path[160];
	int fd;

	snprintf(path, sizeof path, "%s/in", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static int setup(void **state)
{
	(void)state;
	dir = scratch_make("sm-stream");
	db = scratch_db();
	nreported = 0;
	return 0;
}

static int teardown(void **state)
{
	return scratch_remove(state);
}

static void stores_and_reports(void **state)
{
	sm_store *store;
	sm_error err;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	sm_stream_opts opts = {.driver = sm_driver_find("generic"),
	                       .max_body = 1 << 20,
	                       .out = out,
	                       .report = collect};
	int fd = input("{\"title\":\"one\",\"status\":\"firing\"}\n"
	               "[1]\n"
	               "{\"title\":\"two\",\"status\":\"firing\"}\n");

	(void)state;
	assert_int_equal(sm_store_open(db, &store, &err), 0);
	assert_int_equal(sm_stream_ingest(store, fd, "in", &opts), 65);
	fclose(out);
	close(fd);
	assert_int_equal(nreported, 1);
	assert_int_equal(codes[0], 65);
	assert_string_equal(reported[0], "in: payload 2 (line 2): not a JSON object");
	/* Two envelopes, one per incident, each after its commit. */
	assert_non_null(strstr(text, "\"title\":\"one\""));
	assert_non_null(strstr(text, "\"title\":\"two\""));
	assert_int_equal(text[len - 1], '\n');
	free(text);
	sm_store_close(store);
}

static void dry_run_and_read_error(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	sm_stream_opts opts = {.dry_run = true, .max_body = 16, .out = out, .report = collect};
	int fd =
	    input("{\"title\":\"a much longer payload than sixteen bytes\"}\n{\"title\":\"x\"}\n");

	(void)state;
	assert_int_equal(sm_stream_ingest(NULL, fd, "in", &opts), 65);
	close(fd);
	assert_int_equal(nreported, 1);
	assert_string_equal(reported[0],
	                    "in: payload 1 (line 1): larger than 16 bytes (SM_MAX_BODY)");
	fflush(out);
	assert_non_null(strstr(text, "\"incident\":null")); /* the second, parsed only */
	/* A descriptor that cannot be read: a read error, not the end. */
	nreported = 0;
	fd = open("/dev/null", O_WRONLY);
	assert_int_equal(sm_stream_ingest(NULL, fd, "w", &opts), 65);
	close(fd);
	assert_int_equal(nreported, 1);
	assert_string_equal(reported[0], "w: read error: Bad file descriptor");
	fclose(out);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(stores_and_reports, setup, teardown),
	    cmocka_unit_test_setup_teardown(dry_run_and_read_error, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
