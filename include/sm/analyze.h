/* analyze.h - the ANALYZE stage: stored providers, one envelope's analysis
 * with its fallback, and the analysis_runs record.
 *
 * Providers are rows of intelligence_providers {name, provider, config,
 * is_active}; at most one is active, and with none the local rules
 * (recommend.h) answer. An AI provider (ai.h) that fails — no connection,
 * a timeout, an HTTP error, an answer that cannot be parsed — is replaced
 * by the local rules, marked as a fallback, unless the fallback is off:
 * then the analysis fails. Either way the envelope gets its "analysis"
 * section and its "stages" record, and the store one analysis_runs row:
 *
 *   "analysis": {"provider", "model", "status": "ok"|"fallback"|"failed",
 *                "fallback", "summary", "recommendations": [...], "error"}
 *
 * API keys live only in the store (mode 0600): listings mask them, and no
 * message, log line, envelope or analysis_runs row carries one.
 *
 * Functions returning int give a suite exit status (err.h): 0, SM_EXIT_USAGE
 * for an unknown provider, name or key, SM_EXIT_FAILURE for a store error.
 */
#ifndef SM_ANALYZE_H
#define SM_ANALYZE_H

#include <stdbool.h>
#include <jansson.h>
#include "sm/err.h"
#include "sm/recommend.h"
#include "sm/store.h"

#define SM_ANALYZE_MASK "********" /* what listings show for a key */

/* The names accepted as PROVIDER: "local", then the AI providers. */
void sm_analyze_provider_names(char *buf, size_t size);

/* The provider family, "local" first: one object per provider {name,
 * description, base_url, model, key_env} with the defaults (null for
 * local, and key_env null for a provider that needs no key). */
json_t *sm_analyze_providers_json(void);

/* A provider's config from KEY=VALUE words (KEY=@FILE reads the value from
 * FILE, its trailing newline dropped), checked against the provider's keys:
 * AI providers take api_key, model, base_url, max_tokens, timeout_s; local
 * takes top_n_processes, large_file_threshold_mb, old_file_days. Messages
 * never quote a value. */
int sm_analyze_config_parse(const char *provider, char *const *pairs, int n, json_t **config,
                            sm_error *err);

/* "api_key, model, ...": the keys provider's config takes, into buf. */
void sm_analyze_config_keys(const char *provider, char *buf, size_t size);

/* Add (or replace the provider and config of) the row name; a new row is
 * not active. *replaced (may be NULL) says which. */
int sm_analyze_provider_add(sm_store *store, const char *name, const char *provider, json_t *config,
                            bool *replaced, sm_error *err);
/* Every row by name: {name, provider, active, model, base_url, config},
 * keys masked, defaults filled in. */
int sm_analyze_provider_list(sm_store *store, json_t **rows, sm_error *err);
/* One row as list shows it. */
int sm_analyze_provider_show(sm_store *store, const char *name, json_t **row, sm_error *err);
/* Make name the only active row; "local", when no row has that name,
 * deactivates every row (the local rules answer). */
int sm_analyze_provider_activate(sm_store *store, const char *name, sm_error *err);
int sm_analyze_provider_rm(sm_store *store, const char *name, sm_error *err);

/* A copy of config with secrets masked. */
json_t *sm_analyze_mask(json_t *config);

typedef struct sm_analyzer sm_analyzer;

/* The analyzer of the row name, or of the active row (name NULL), or of
 * the local rules (name NULL and no row active, or name "local" with no
 * such row). The fallback is on and opts the defaults until set. */
int sm_analyzer_open(sm_store *store, const char *name, sm_analyzer **out, sm_error *err);
void sm_analyzer_free(sm_analyzer *a);
void sm_analyzer_set_fallback(sm_analyzer *a, bool enabled);
/* Rule settings for the local provider and for fallbacks (copied; a local
 * row's config overrides top_n, large_file_mb and old_file_days). */
void sm_analyzer_set_opts(sm_analyzer *a, const sm_recommend_opts *opts);
/* "local", "openai", ... and the stored row's name ("local" for none). */
const char *sm_analyzer_provider(const sm_analyzer *a);
const char *sm_analyzer_name(const sm_analyzer *a);

/* Analyze one envelope in place (analysis, stages[], one analysis_runs row
 * committed before returning). An AI provider is asked only about an
 * envelope with an incident, a firing alert or a failing check; others
 * get the local rules. Returns 0 when the analysis is ok or a fallback,
 * SM_EXIT_FAILURE when it failed (the envelope still carries it), and -1
 * with err when the row could not be stored (the envelope is then left
 * as it was). */
int sm_analyzer_envelope(sm_analyzer *a, json_t *env, sm_error *err);

/* The envelope of the stored incident id, for sm_analyzer_envelope: its
 * incident, its alerts, the latest check run behind each of its alerts
 * (check_runs.alert_id) and the host they name. SM_EXIT_USAGE with err
 * ("no incident N") when there is none, SM_EXIT_FAILURE for a store
 * error. */
int sm_analyze_incident_envelope(sm_store *store, long long id, json_t **env, sm_error *err);

/* One tiny exchange with the provider (the local rules: none). 0 with the
 * model used, or SM_EXIT_FAILURE with err. */
int sm_analyzer_test(sm_analyzer *a, char *model, size_t size, double *elapsed_ms, sm_error *err);

enum sm_analyze_mode {
	SM_ANALYZE_GENERAL, /* the general scan */
	SM_ANALYZE_MEMORY,
	SM_ANALYZE_DISK,
	SM_ANALYZE_CPU,
};

/* A standalone analysis of this host by the local rules (path: the disk
 * mode's host path, NULL "/"), recorded as one analysis_runs row. *recs is
 * a new array. 0, with note saying what the run left out ("" for nothing;
 * the row's error holds it too), or SM_EXIT_FAILURE with err (the rules
 * could not read the host; the row records the failure). */
int sm_analyze_local(sm_store *store, enum sm_analyze_mode mode, const char *path,
                     const sm_recommend_opts *opts, json_t **recs, sm_error *note, sm_error *err);

#endif
