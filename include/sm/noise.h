/* noise.h - noise control in the store: silences, inhibit rules and
 * maintenance windows (sm-notify(1), SILENCES, INHIBITION, MAINTENANCE
 * WINDOWS). sm-notify's decision consults them (notify_noise.c); these are
 * the commands that manage them, shaped for the command line and for an
 * HTTP handler alike: a request is a JSON object, a result a JSON object
 * or array.
 *
 * Every function returns an exit status of err.h: SM_EXIT_OK, or with err
 * set SM_EXIT_USAGE (a matcher, regex, time, duration, schedule or zone
 * that does not parse, an end before the start, an unknown id),
 * SM_EXIT_DATAERR (a request member of the wrong type) or SM_EXIT_FAILURE
 * (the store failed). A refused request stores nothing.
 *
 * Ids are UUIDs (36 characters), as Alertmanager gives its silences.
 */
#ifndef SM_NOISE_H
#define SM_NOISE_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "sm/err.h"
#include "sm/store.h"

#define SM_NOISE_DEFAULT_DURATION "1h" /* a silence given no end */

/* --- silences ------------------------------------------------------------ */

/* request: {"matchers":["name=value",...], "starts_at":RFC3339 (default
 * now), "ends_at":RFC3339 | "duration":"4h" (default 1h), "comment",
 * "author"}. At least one matcher, and one that does not match the empty
 * string. *out gets the silence as sm_noise_silence_list shows it. */
int sm_noise_silence_add(sm_store *store, json_t *request, json_t **out, sm_error *err);
/* The silences not yet expired (all: every one), newest first, each
 * {id, matchers, starts_at, ends_at, state ("pending", "active",
 * "expired"), comment, author, created_at, updated_at, held_back (the
 * notifications it skipped)}. */
int sm_noise_silence_list(sm_store *store, bool all, json_t **out, sm_error *err);
/* One silence as the listing shows it; SM_EXIT_USAGE when there is none
 * (an HTTP handler's 404, asked before an expire). */
int sm_noise_silence_get(sm_store *store, const char *id, json_t **out, sm_error *err);
/* End the silence now (a pending one never starts); *out (may be NULL)
 * gets it. An unknown or already expired id is SM_EXIT_USAGE. */
int sm_noise_silence_expire(sm_store *store, const char *id, json_t **out, sm_error *err);

/* --- inhibit rules ------------------------------------------------------- */

/* request: {"source":[matcher,...], "target":[matcher,...],
 * "equal":["label",...]}. *out gets {id, source, target, equal,
 * created_at}. */
int sm_noise_inhibit_add(sm_store *store, json_t *request, json_t **out, sm_error *err);
int sm_noise_inhibit_list(sm_store *store, json_t **out, sm_error *err);
int sm_noise_inhibit_remove(sm_store *store, const char *id, sm_error *err);

/* --- maintenance windows ------------------------------------------------- */

/* request: {"matchers":[...], "schedule":"Mon-Fri 22:00-23:30; Sun
 * 02:00-04:00", "tz":"Europe/Berlin" (default: the host's zone),
 * "comment"}. *out gets {id, matchers, schedule, tz, comment, created_at,
 * active (now), held_back}. */
int sm_noise_maintenance_add(sm_store *store, json_t *request, json_t **out, sm_error *err);
int sm_noise_maintenance_list(sm_store *store, json_t **out, sm_error *err);
int sm_noise_maintenance_remove(sm_store *store, const char *id, sm_error *err);

/* --- in force ----------------------------------------------------------- */

/* What holds notifications back at now (sm-pipeline status):
 * {"silences": {active, pending (counts), latest (the first max active
 * ones, the soonest to end first, as sm_noise_silence_list shows them plus
 * remaining_seconds)}, "maintenance": {open (a count), windows (the first
 * max open at now, as sm_noise_maintenance_list shows them)}}. Only
 * reads; SM_EXIT_FAILURE with err when the store fails. */
int sm_noise_in_force(sm_store *store, time_t now, size_t max, json_t **out, sm_error *err);

/* --- the pieces, pure ---------------------------------------------------- */

#define SM_NOISE_RANGES_MAX 32

/* A weekly schedule: ranges of minutes on days of the week. */
typedef struct sm_noise_schedule {
	struct {
		unsigned char days; /* bit 0 Sunday ... bit 6 Saturday: the days it starts on */
		int start,
		    end; /* minutes from midnight, end up to 1440; end <= start crosses midnight */
	} ranges[SM_NOISE_RANGES_MAX];
	size_t count;
} sm_noise_schedule;

/* Parse "DAYS HH:MM-HH:MM" ranges separated by ',' or ';'. DAYS is a day
 * (Mon or Monday, any case), a span (Mon-Fri, Fri-Mon), or a list of
 * them (Mon,Wed 02:00-03:00); "daily" is every day. 0, or -1 with err. */
int sm_noise_schedule_parse(const char *text, sm_noise_schedule *s, sm_error *err);
/* Whether local weekday wday (0 Sunday) at minute (0-1439) is inside. */
bool sm_noise_schedule_active(const sm_noise_schedule *s, int wday, int minute);
/* Whether zone is "", "UTC" or a zone in the system's database. */
bool sm_noise_zone_valid(const char *zone);
/* Whether now, seen in zone ("" the host's), is inside s. It sets TZ for
 * the conversion and puts it back: not for a program whose other threads
 * read the time zone meanwhile. */
bool sm_noise_schedule_active_at(const sm_noise_schedule *s, const char *zone, time_t now);

#endif
