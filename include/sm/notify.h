/* notify.h - the NOTIFY stage (sm-notify(1)): channels stored in the store,
 * the decision when an envelope is worth a message, rendering it with the
 * driver's templates and delivering it with retries.
 *
 * A channel is a name, a driver (slack, pagerduty, generic, email, exec,
 * stdout) and its configuration, a JSON object of typed values checked
 * against the driver's table of keys when it is added. Secrets in it
 * (webhook URLs, keys, passwords, header values) are shown masked by
 * sm_notify_config_masked and never logged.
 *
 * Functions that can fail for the caller's reason and for the system's
 * return an exit status of err.h: SM_EXIT_USAGE for a bad name, key or
 * value (err says which), SM_EXIT_FAILURE when the store failed.
 */
#ifndef SM_NOTIFY_H
#define SM_NOTIFY_H

#include "sm/err.h"
#include "sm/store.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define SM_NOTIFY_REPEAT_INTERVAL 14400 /* seconds between reminders of an unchanged incident */
#define SM_NOTIFY_RETRIES         2     /* attempts after the first, on transient failures */
#define SM_NOTIFY_BACKOFF_S       0.5   /* wait before the first retry; doubles after each */
#define SM_NOTIFY_TIMEOUT_S       10.0  /* one request or program run */
#define SM_NOTIFY_TEMPLATE_DIR    "/etc/sm/templates" /* template files; $SM_TEMPLATE_DIR */

/* "email, exec, generic, pagerduty, slack, stdout" into buf. */
void sm_notify_driver_names(char *buf, size_t size);
/* Whether name is a driver. */
bool sm_notify_driver_known(const char *name);
/* The drivers section of --help: each driver with its description and
 * keys, then the keys every driver takes. malloc'd; NULL when out of
 * memory. */
char *sm_notify_drivers_help(void);

/* Build a channel configuration for driver from KEY=VALUE words (KEY=@FILE
 * reads the value from FILE, its trailing newline dropped): every key
 * known to the driver, every value valid, every required key present.
 * SM_EXIT_OK with *config set, or SM_EXIT_USAGE with err naming the key. */
int sm_notify_config_build(const char *driver, char *const *words, int nwords, json_t **config,
                           sm_error *err);
/* A copy of config fit to print: secrets replaced by "********", URLs
 * whose path is secret cut to scheme://host[:port]/ and eight asterisks. */
json_t *sm_notify_config_masked(const char *driver, json_t *config);

/* Channels. Names are 1-64 letters, digits, '.', '_' or '-'. */
int sm_notify_channel_add(sm_store *store, const char *name, const char *driver, json_t *config,
                          sm_error *err);
/* The channel as {id,name,driver,enabled,config,created_at,updated_at}
 * with its real (unmasked) config; SM_EXIT_USAGE when there is none. */
int sm_notify_channel_get(sm_store *store, const char *name, json_t **out, sm_error *err);
/* All channels by name, configs masked. */
int sm_notify_channel_list(sm_store *store, json_t **out, sm_error *err);
/* All channels by name as {name,driver,enabled}, without their configs:
 * for a program that picks channels and sends nothing (sm-pipeline), as
 * it reaches no driver's code and so does not link libcurl. */
int sm_notify_channel_names(sm_store *store, json_t **out, sm_error *err);
int sm_notify_channel_set_enabled(sm_store *store, const char *name, bool enabled, sm_error *err);
int sm_notify_channel_remove(sm_store *store, const char *name, sm_error *err);

/* --- when to notify ----------------------------------------------------- */

/* The severity an envelope is about: its incident's, else its worst
 * alert's, else its worst check's (unknown counts as warning); "info"
 * when it has none. */
const char *sm_notify_severity(json_t *env);
/* What changed that is worth a message: "alert created", "alert refired",
 * "alert resolved", "incident created", "incident reopened", "incident
 * resolved", "severity rose", "flapping started", "flapping stopped" (an
 * alert's flapping_change, first); NULL when nothing did. */
const char *sm_notify_event(json_t *env);

typedef struct sm_notify_decision {
	bool deliver;
	const char *reason; /* why: the event, "reminder", or why it was skipped */
} sm_notify_decision;

/* Decide for one channel (config) and one envelope. last_sent_age_s is the
 * seconds since the channel's last sent message about the same incident,
 * or < 0 when there was none. */
sm_notify_decision sm_notify_decide(json_t *env, json_t *config, double last_sent_age_s);

/* The context templates render against: the envelope's members plus
 * title, severity, SEVERITY, status, STATUS, message, event, incident_id,
 * counts, firing/resolved alerts, failing checks, recommendations (see
 * sm-envelope(5), TEMPLATES). channel may be NULL. */
json_t *sm_notify_context(json_t *env, const char *channel);

/* --- delivery ----------------------------------------------------------- */

typedef struct sm_notifier sm_notifier;

typedef struct sm_notify_opts {
	const char *const *channels; /* names (NULL-terminated) or NULL: every enabled one */
	FILE *text_out;              /* where the stdout driver writes (NULL: stderr) */
} sm_notify_opts;

/* Load the channels to deliver to. With no names and no channel stored at
 * all, the stdout driver stands in. An unknown or disabled name is
 * SM_EXIT_USAGE. */
int sm_notifier_new(sm_store *store, const sm_notify_opts *opts, sm_notifier **out, sm_error *err);
void sm_notifier_free(sm_notifier *n);
/* Decide, deliver and record for one envelope; adds notifications[] and a
 * stages[] record to env. SM_EXIT_OK when nothing failed, SM_EXIT_TEMPFAIL
 * when a delivery failed, SM_EXIT_FAILURE (err set) when the store did. */
int sm_notifier_process(sm_notifier *n, json_t *env, sm_error *err);

/* The longest sm_notifier_process can take with n's channels: each
 * channel's tries, each bounded by its timeout, and the waits between
 * them (seconds). */
double sm_notifier_longest(const sm_notifier *n);

/* sm-notify's stream: the envelopes of in (called name in messages), each
 * through sm_notifier_process and written on to out, by the loop and the
 * policy of stage.h (errors on stderr as they happen). Its exit status:
 * SM_EXIT_FAILURE when out failed or the store did, SM_EXIT_TEMPFAIL when a
 * delivery failed, SM_EXIT_DATAERR when a line was not an envelope (it is
 * skipped, the rest go on) or in could not be read, else SM_EXIT_OK. */
int sm_notifier_run(sm_notifier *n, FILE *in, const char *name, FILE *out);

/* One message about env through driver with config, one attempt (no
 * decision, nothing recorded); the members of extra (may be NULL) replace
 * the template context's (sm_notify_context). *result gets the
 * notification entry.
 * SM_EXIT_OK when sent, SM_EXIT_TEMPFAIL when it failed, SM_EXIT_USAGE for
 * an unknown driver. */
int sm_notify_send(const char *channel, const char *driver, json_t *config, json_t *env,
                   json_t *extra, FILE *text_out, json_t **result);
/* sm-notify resend: every open incident of the store with a firing alert,
 * as an envelope made from the store, through sm_notifier_process to the
 * channels of opts (NULL: every enabled channel whose receiver ends an
 * alert not sent again, the alertmanager driver's), whose repeat_interval
 * (resend_interval) decides which are due; each envelope written to out.
 * The exit status as sm_notifier_run's; SM_EXIT_OK with nothing to do. */
int sm_notify_resend(sm_store *store, const sm_notify_opts *opts, FILE *out);

/* One test message through driver with config (no decision, nothing
 * recorded). *result gets the notification entry. SM_EXIT_OK when sent,
 * SM_EXIT_TEMPFAIL when it failed. */
int sm_notify_test(const char *channel, const char *driver, json_t *config, FILE *text_out,
                   json_t **result);
/* The envelope a test message is rendered from. */
json_t *sm_notify_test_envelope(void);

#endif
