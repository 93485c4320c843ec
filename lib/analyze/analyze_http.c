/* analyze_http.c - the /intelligence/ endpoints (see analyze_http.h): a
 * route table for sm_request_dispatch (request.h), which checks what every
 * API checks before an endpoint runs. Numbers and paths are checked
 * before anything is analyzed, so a 400 records no run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sm/analyze.h"
#include "sm/analyze_http.h"
#include "sm/host.h"
#include "sm/json.h"
#include "sm/log.h"

#define MAX_ID 9007199254740991.0 /* the largest whole number a JSON number holds exactly */

/* The rule settings a request may give: the query's or the body's. */
struct setting {
	const char *query;  /* query parameter */
	const char *config; /* the same in a POST's "config" (the local provider's keys) */
	double min, max;
	bool whole;
};

static const struct setting settings[] = {
    {"top_n", "top_n_processes", 1, 1000, true},
    {"threshold_mb", "large_file_threshold_mb", 0.001, 1e9, false},
    {"old_days", "old_file_days", 1, 36500, true},
};

static void set_opt(sm_recommend_opts *opts, size_t i, double v)
{
	if (i == 0)
		opts->top_n = (int)v;
	else if (i == 1)
		opts->large_file_mb = v;
	else
		opts->old_file_days = (int)v;
}

/* The query's settings named in want (indices into settings) into opts:
 * false after answering 400. */
static bool query_settings(sm_request_call *c, const size_t *want, size_t n,
                           sm_recommend_opts *opts)
{
	for (size_t k = 0; k < n; k++) {
		const struct setting *s = &settings[want[k]];
		char text[64];
		double v;
		int has = sm_request_query(c->req, s->query, text, sizeof text);
		if (has < 0) {
			sm_request_errorf(c->req, 400, NULL, "%s: malformed query string",
			                  s->query);
			return false;
		}
		if (has && sm_request_number(c->req, s->query, text, NULL, s->min, s->max, s->whole,
		                             &v) < 0)
			return false;
		if (has)
			set_opt(opts, want[k], v);
	}
	return true;
}

/* {"type": type, "recommendations": recs, "count": n} plus note. */
static void respond_recs(sm_request_call *c, json_t *answer, json_t *recs, const sm_error *note)
{
	json_object_set_new(answer, "recommendations", recs);
	json_object_set_new(answer, "count", json_integer((json_int_t)json_array_size(recs)));
	if (note && note->msg[0])
		json_object_set_new(answer, "note", json_string(note->msg));
	sm_request_respond(c->req, 200, NULL, answer);
}

/* A local analysis of this host, answered. */
static void run_local(sm_request_call *c, enum sm_analyze_mode mode, const char *path,
                      const sm_recommend_opts *opts, json_t *answer, const char *what)
{
	json_t *recs = NULL;
	sm_error err = {0}, note = {0};

	if (!sm_request_store(c)) {
		json_decref(answer);
		return;
	}
	if (sm_analyze_local(c->store, mode, path, opts, &recs, &note, &err) != 0) {
		sm_log_kv(SM_LOG_ERROR, "analysis failed", "error", err.msg, SM_LOG_END);
		sm_request_errorf(c->req, 500, NULL, "Error analyzing %s: %s", what, err.msg);
		json_decref(recs);
		json_decref(answer);
		return;
	}
	respond_recs(c, answer, recs, &note);
}

/* --- endpoints ------------------------------------------------------------ */

static json_t *provider_names(void)
{
	json_t *rows = sm_analyze_providers_json(), *names = json_array(), *row;
	size_t i;

	json_array_foreach(rows, i, row)
	{
		json_array_append(names, json_object_get(row, "name"));
	}
	json_decref(rows);
	return names;
}

static void health(sm_request_call *c)
{
	sm_request_respond(c->req, 200, NULL,
	                   json_pack("{s:s,s:s,s:o}", "status", "healthy", "app", "intelligence",
	                             "providers", provider_names()));
}

static void providers(sm_request_call *c)
{
	json_t *family = sm_analyze_providers_json(), *stored = NULL;
	sm_error err = {0};

	if (!sm_request_store(c)) {
		json_decref(family);
		return;
	}
	if (sm_analyze_provider_list(c->store, &stored, &err) != 0) {
		sm_log_kv(SM_LOG_ERROR, "cannot list providers", "error", err.msg, SM_LOG_END);
		sm_request_error(c->req, 500, NULL, "cannot list providers", NULL);
		json_decref(family);
		return;
	}
	sm_request_respond(c->req, 200, NULL,
	                   json_pack("{s:o,s:I,s:o}", "providers", family, "count",
	                             (json_int_t)json_array_size(family), "stored", stored));
}

static void memory(sm_request_call *c)
{
	static const size_t want[] = {0};
	sm_recommend_opts opts;

	sm_recommend_opts_init(&opts);
	if (!query_settings(c, want, 1, &opts))
		return;
	run_local(c, SM_ANALYZE_MEMORY, NULL, &opts, json_pack("{s:s}", "type", "memory"),
	          "memory");
}

/* Whether path is absolute and has no ".." component. */
static bool path_ok(const char *path)
{
	const char *p = path;

	if (path[0] != '/')
		return false;
	while ((p = strstr(p, ".."))) {
		if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return false;
		p += 2;
	}
	return true;
}

static void disk(sm_request_call *c)
{
	static const size_t want[] = {1, 2};
	char path[1024] = "/", host[4200];
	sm_recommend_opts opts;
	struct stat st;
	int has;

	sm_recommend_opts_init(&opts);
	has = sm_request_query(c->req, "path", path, sizeof path);
	if (has < 0 || !path_ok(path)) {
		sm_request_error(c->req, 400, NULL,
		                 "path: expected an absolute path without .. components", NULL);
		return;
	}
	if (!query_settings(c, want, 2, &opts))
		return;
	if (sm_host_path(host, sizeof host, path) < 0 || stat(host, &st) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		sm_request_errorf(c->req, 400, NULL, "path: not a directory on this host: %s",
		                  path);
		return;
	}
	run_local(c, SM_ANALYZE_DISK, path, &opts,
	          json_pack("{s:s,s:s,s:f,s:i}", "type", "disk", "path", path, "threshold_mb",
	                    opts.large_file_mb, "old_days", opts.old_file_days),
	          "disk");
}

/* The request's provider and incident: GET from the query, POST from the
 * body (with "config", the local rules' settings). false after answering. */
static bool rec_fields(sm_request_call *c, char *provider, size_t size, long long *incident,
                       sm_recommend_opts *opts)
{
	double v;

	*incident = 0;
	provider[0] = '\0';
	if (!c->body) {
		char text[64];
		int has = sm_request_query(c->req, "incident_id", text, sizeof text);
		if (has < 0 || sm_request_query(c->req, "provider", provider, size) < 0) {
			sm_request_error(c->req, 400, NULL, "malformed query string", NULL);
			return false;
		}
		if (has) {
			if (sm_request_number(c->req, "incident_id", text, NULL, 1, MAX_ID, true,
			                      &v) < 0)
				return false;
			*incident = (long long)v;
		}
		return true;
	} else {
		json_t *p = json_object_get(c->body, "provider"),
		       *id = json_object_get(c->body, "incident_id"),
		       *config = json_object_get(c->body, "config"), *val;
		const char *key;

		if (p && (!json_is_string(p) || json_string_length(p) >= size)) {
			sm_request_error(c->req, 400, NULL, "provider must be a name", NULL);
			return false;
		}
		if (p)
			snprintf(provider, size, "%s", json_string_value(p));
		if (id && !json_is_null(id)) {
			if (sm_request_number(c->req, "incident_id", NULL, id, 1, MAX_ID, true,
			                      &v) < 0)
				return false;
			*incident = (long long)v;
		}
		if (config && !json_is_object(config)) {
			sm_request_error(c->req, 400, NULL, "config must be an object", NULL);
			return false;
		}
		json_object_foreach(config, key, val)
		{
			size_t i;
			for (i = 0; i < sizeof settings / sizeof settings[0]; i++)
				if (strcmp(key, settings[i].config) == 0)
					break;
			if (i == sizeof settings / sizeof settings[0]) {
				sm_request_errorf(c->req, 400, NULL,
				                  "config: unknown key '%.64s' (keys: "
				                  "top_n_processes, large_file_threshold_mb, "
				                  "old_file_days)",
				                  key);
				return false;
			}
			if (sm_request_number(c->req, key, NULL, val, settings[i].min,
			                      settings[i].max, settings[i].whole, &v) < 0)
				return false;
			set_opt(opts, i, v);
		}
	}
	return true;
}

/* Recommendations for a stored incident by the named (or active)
 * provider; without an incident, the general scan by the local rules. */
static void recommendations(sm_request_call *c)
{
	char provider[128];
	long long incident;
	sm_recommend_opts opts;
	sm_analyzer *an = NULL;
	json_t *env = NULL, *analysis, *answer;
	sm_error err = {0};
	int rc;

	sm_recommend_opts_init(&opts);
	if (!rec_fields(c, provider, sizeof provider, &incident, &opts) || !sm_request_store(c))
		return;
	rc = sm_analyzer_open(c->store, *provider ? provider : NULL, &an, &err);
	if (rc == SM_EXIT_USAGE) {
		sm_request_errorf(c->req, 404, NULL, "Unknown provider: %s", provider);
		return;
	}
	if (rc != 0) {
		sm_log_kv(SM_LOG_ERROR, "cannot open the provider", "error", err.msg, SM_LOG_END);
		sm_request_error(c->req, 500, NULL, "cannot open the provider", NULL);
		return;
	}
	if (!incident) {
		bool local = strcmp(sm_analyzer_provider(an), "local") == 0;
		sm_analyzer_free(an);
		if (*provider && !local) {
			sm_request_error(
			    c->req, 400, NULL,
			    "without incident_id the general scan uses the local rules", NULL);
			return;
		}
		run_local(c, SM_ANALYZE_GENERAL, NULL, &opts,
		          json_pack("{s:s,s:n}", "provider", "local", "incident_id"), "the host");
		return;
	}
	rc = sm_analyze_incident_envelope(c->store, incident, &env, &err);
	if (rc != 0) {
		sm_analyzer_free(an);
		if (rc == SM_EXIT_USAGE)
			sm_request_errorf(c->req, 404, NULL, "Incident with id %lld not found",
			                  incident);
		else
			sm_request_error(c->req, 500, NULL, "cannot read the incident", NULL);
		return;
	}
	sm_analyzer_set_opts(an, &opts);
	rc = sm_analyzer_envelope(an, env, &err);
	analysis = json_object_get(env, "analysis");
	if (rc < 0) {
		sm_log_kv(SM_LOG_ERROR, "cannot record the analysis", "error", err.msg, SM_LOG_END);
		sm_request_error(c->req, 500, NULL, "cannot record the analysis", NULL);
	} else if (rc != 0) {
		/* The provider failed and the fallback is off: its error says how. */
		sm_request_errorf(c->req, 502, NULL, "analysis failed: %s",
		                  json_string_value(json_object_get(analysis, "error")));
	} else {
		answer = json_pack(
		    "{s:s,s:s,s:I,s:O,s:O,s:O}", "provider", sm_analyzer_provider(an), "name",
		    sm_analyzer_name(an), "incident_id", (json_int_t)incident, "status",
		    json_object_get(analysis, "status"), "model",
		    json_object_get(analysis, "model") ? json_object_get(analysis, "model")
		                                       : json_null(),
		    "summary",
		    json_object_get(analysis, "summary") ? json_object_get(analysis, "summary")
		                                         : json_null());
		respond_recs(c, answer, json_incref(json_object_get(analysis, "recommendations")),
		             NULL);
	}
	sm_analyzer_free(an);
	json_decref(env);
}

/* --- dispatch ------------------------------------------------------------ */

static const sm_request_route routes[] = {
    {"GET", {"health", NULL}, health, true},
    {"GET", {"providers", NULL}, providers, false},
    {"GET", {"recommendations", NULL}, recommendations, false},
    {"POST", {"recommendations", NULL}, recommendations, false},
    {"GET", {"memory", NULL}, memory, false},
    {"GET", {"disk", NULL}, disk, false},
    {NULL, {NULL}, NULL, false},
};

static const sm_request_route *const route_tables[] = {routes, NULL};

int sm_analyze_http(const sm_request *req)
{
	return sm_request_dispatch(req, "/intelligence/", route_tables, NULL);
}

int sm_analyze_http_cgi(const sm_error *config_err)
{
	return sm_request_cgi_serve(sm_analyze_http, config_err);
}
