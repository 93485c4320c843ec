/* status.c - sm-pipeline status and prune: the operator's view of the
 * store (a screen, JSON, an HTML page) and retention. */
#include "sm-pipeline.h"

/* --- the operator's view -------------------------------------------------------- */

/* The page on standard output; the exit status as status's. */
static int status_html(void)
{
	enum sm_status level = SM_UNKNOWN;
	sm_store *store = NULL;
	sm_error err = {0};
	int rc;

	rc = sm_store_open_readonly(NULL, &store, &err);
	if (rc == 0)
		rc = sm_pipeline_status_html(store, time(NULL), stdout, &level, &err);
	sm_store_close(store);
	if (rc < 0)
		return sm_err_report(SM_UNKNOWN, &err);
	return fflush(stdout) == 0 ? (int)level
	                           : sm_err(SM_UNKNOWN, "standard output: write failed");
}

/* Text even on a pipe (a monitoring plugin reads it through one); the exit
 * status is the worst open problem, 3 when the store cannot be read. */
int status_command(struct args *a)
{
	enum sm_status level = SM_UNKNOWN;
	sm_store *store = NULL;
	json_t *status = NULL;
	sm_error err = {0};

	if (a->noperands != 1 || (a->json && a->html))
		return sm_err(SM_EXIT_USAGE, "usage: sm-pipeline status [--json | --html]");
	if (a->html)
		return status_html();
	if (sm_store_open_readonly(NULL, &store, &err) < 0 ||
	    sm_pipeline_status(store, time(NULL), &status, &level, &err) < 0) {
		sm_store_close(store);
		if (!a->json)
			printf("SM UNKNOWN - %s\n", err.msg);
		sm_err_report(SM_UNKNOWN, &err);
		return SM_UNKNOWN;
	}
	sm_store_close(store);
	if (a->json)
		sm_envelope_write(stdout, status, NULL);
	else
		sm_pipeline_status_print(status, stdout, sm_term_color(stdout),
		                         sm_term_isatty(stdout) ? sm_term_columns(stdout) : 0);
	json_decref(status);
	return (int)level;
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* The retention is settled before the store is opened: bad input removes
 * nothing. */
int prune_command(struct args *a)
{
	sm_pipeline_retention retention;
	sm_store *store = NULL;
	json_t *report = NULL;
	sm_error err = {0};
	long long before = 0, after = 0;
	int rc;

	if (a->noperands != 1)
		return sm_err(SM_EXIT_USAGE, "usage: sm-pipeline prune [--older-than DURATION] "
		                             "[--dry-run] [--vacuum] [--json]");
	if (sm_pipeline_prune_retention(getenv("SM_RETENTION"), &retention, &err) < 0)
		return sm_err_report(sm_error_exit(&err), &err);
	if (a->older_than) {
		long long seconds;
		if (sm_pipeline_prune_duration(a->older_than, &seconds) < 0)
			return sm_err(
			    SM_EXIT_USAGE,
			    "--older-than: expected a duration such as 90s, 15m, 4h or 7d, "
			    "got '%s'",
			    a->older_than);
		for (int k = 0; k < SM_RETAIN_KINDS; k++)
			retention.seconds[k] = seconds;
	}
	if ((rc = open_store(&store)) != SM_EXIT_OK)
		return rc;
	before = file_size(sm_store_path(store));
	rc = sm_pipeline_prune(store, &retention, time(NULL), a->dry_run, &report, &err);
	if (rc == SM_EXIT_OK && a->vacuum && !a->dry_run) {
		if (sm_pipeline_prune_vacuum(store, &err) < 0)
			rc = SM_EXIT_FAILURE;
		after = file_size(sm_store_path(store));
	}
	sm_store_close(store);
	if (rc != SM_EXIT_OK) {
		json_decref(report);
		return sm_err_report(rc, &err);
	}
	if (a->vacuum && !a->dry_run) {
		json_object_set_new(report, "size_before", json_integer(before));
		json_object_set_new(report, "size_after", json_integer(after));
	}
	if (a->json) {
		sm_envelope_write(stdout, report, NULL);
	} else {
		const char *table;
		json_t *n;
		json_object_foreach(json_object_get(report, "removed"), table, n)
		{
			printf("%-24s %10lld %s\n", table, (long long)json_integer_value(n),
			       a->dry_run ? "to remove (dry run)" : "removed");
		}
		if (a->vacuum && !a->dry_run)
			printf("store file %lld -> %lld bytes\n", before, after);
	}
	json_decref(report);
	return SM_EXIT_OK;
}
