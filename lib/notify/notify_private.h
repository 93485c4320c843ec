/* notify_private.h - private to lib/notify: what the NOTIFY stage's files
 * share. The stage is split by job:
 *
 *   notify_drivers.c   the driver table (from NOTIFY_DRIVERS) and its texts
 *   notify_config.c    channel configurations: typed, validated, masked
 *   notify_channels.c  channels in the store
 *   notify_decide.c    when to notify: a pure decision per channel
 *   notify_noise.c     noise control's findings about an envelope, for it
 *   noise.c, noise_schedule.c, matcher.c  silences, inhibit rules and
 *                      maintenance windows in the store (sm/noise.h), and
 *                      the label matchers they select with (sm/matcher.h)
 *   notify_context.c   the context templates render against
 *   notify_render.c    templates: the templates directory, parsed ones kept,
 *                      rendering
 *   notify_message.c   prepared messages and the HTTP send
 *   notify_deliver.c   an envelope's deliveries: retries, backoff, records;
 *                      the notifier, which keeps between envelopes its HTTP
 *                      connections, parsed templates and noise rows
 *   notify_test_message.c  one-off test messages
 *
 * The driver family's contract is notify_drivers.h; the public API is
 * sm/notify.h. */
#ifndef SM_NOTIFY_PRIVATE_H
#define SM_NOTIFY_PRIVATE_H

#include <time.h>

#include "notify_drivers.h"
#include "sm/notify.h"
#include "sm/store.h"

/* Keys every driver takes (notify_config.c), ended by {NULL}. */
extern const notify_key notify_common_keys[];

/* Severity ranks (notify_decide.c): info 0, warning 1, critical 2, else -1. */
int notify_severity_rank(const char *severity);
/* A check status as a severity rank: ok (or none) -1, critical 2, any
 * other status (warning, unknown) 1. */
int notify_check_rank(const char *status);
/* Whether obj's member key is the string value. */
bool notify_str_is(json_t *obj, const char *key, const char *value);

/* Noise control's findings about one envelope (notify_noise.c), found in
 * the store before the decision so that the decision stays pure. Each is
 * the reason to skip, or "" when it does not apply. The alerts concerned
 * are the envelope's firing alerts, or all of them when none fires. */
struct notify_noise {
	char silenced[64];    /* "silenced by <id>": every alert concerned is silenced */
	char inhibited[320];  /* "inhibited by <alert>": each silenced or inhibited */
	char maintenance[64]; /* "maintenance <id>": each silenced, inhibited or in a window */
};

/* What a notifier keeps of noise control between envelopes: the rows of
 * silences, inhibit rules and maintenance windows with their matchers
 * parsed, each parsed again only when its row changed. */
struct notify_noise_cache;
struct notify_noise_cache *notify_noise_cache_new(void);
void notify_noise_cache_free(struct notify_noise_cache *cache);

/* Fill noise for env as of now: the silences active then, the inhibit
 * rules against the firing alerts of the store (an alert never inhibits
 * itself), the maintenance windows open then, all read from the store at
 * each call (cache, may be NULL, spares parsing the rows that did not
 * change). 0, or -1 with err when the store could not be read (noise is
 * then all ""). */
int notify_noise_find(sm_store *store, struct notify_noise_cache *cache, json_t *env, time_t now,
                      struct notify_noise *noise, sm_error *err);

/* sm_notify_decide with noise control's findings (NULL: none). */
sm_notify_decision notify_decide(json_t *env, json_t *config, double last_sent_age_s,
                                 const struct notify_noise *noise);

/* Every stored channel by name, enabled or not, as sm_notify_channel_get
 * gives one (config unmasked) (notify_channels.c). */
int notify_channels_stored(sm_store *store, json_t **rows, sm_error *err);

/* The file of the template called name in the templates directory
 * ($SM_TEMPLATE_DIR, default SM_NOTIFY_TEMPLATE_DIR) into path
 * (notify_render.c). 0, or -1 with err when name is not a plain file name
 * (empty, a '/', a leading '.', a control character) or too long. */
int notify_template_path(const char *name, char *path, size_t size, sm_error *err);

#endif
