/* notify_drivers.h - private to libsm: sm-notify's drivers, the family's
 * contract. Each vendor is one file (notify_<name>.c) defining one row,
 * notify_driver_<name>; NOTIFY_DRIVERS below lists them once, and the
 * table, the declarations and the driver texts of --help and of error
 * messages all follow from that list (notify_drivers.c). A driver renders
 * an envelope into a prepared message (prepare) and makes one delivery
 * attempt of it (send); the stage (notify_deliver.c) decides, retries and
 * records.
 *
 * Adding a driver: notify_<name>.c with its row, one word in
 * NOTIFY_DRIVERS, its fixtures and tests, its lines in sm-notify(1). */
#ifndef SM_NOTIFY_DRIVERS_H
#define SM_NOTIFY_DRIVERS_H

#include "sm/err.h"
#include "sm/http.h"
#include "sm/template.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum notify_key_type {
	NOTIFY_KEY_STRING,
	NOTIFY_KEY_URL,        /* http(s) URL (sm_http_url_ok) */
	NOTIFY_KEY_SECONDS,    /* a number >= 0 */
	NOTIFY_KEY_COUNT,      /* a whole number 0-10 */
	NOTIFY_KEY_PORT,       /* 1-65535 */
	NOTIFY_KEY_BOOL,       /* 1/0, true/false, yes/no, on/off */
	NOTIFY_KEY_SEVERITY,   /* critical, warning, info */
	NOTIFY_KEY_METHOD,     /* POST, PUT, PATCH */
	NOTIFY_KEY_HEADERS,    /* JSON object or "Name: value" lines */
	NOTIFY_KEY_EMAIL,      /* one address */
	NOTIFY_KEY_EMAIL_LIST, /* comma-separated addresses, stored as a list */
	NOTIFY_KEY_FILE,       /* a readable file */
	NOTIFY_KEY_TEMPLATE,   /* a template's name in the templates directory; it compiles */
	NOTIFY_KEY_COMMAND,    /* JSON array of strings, or words split on blanks */
	NOTIFY_KEY_ENV,        /* JSON object of strings, or NAME=value lines */
	NOTIFY_KEY_URL_LIST,   /* comma-separated http(s) URLs, stored as a list */
};

typedef struct notify_key {
	const char *name;
	enum notify_key_type type;
	bool required;
	bool secret;                /* masked when shown: all of it; a URL's path and query; header
	                               values */
	enum sm_template_mode mode; /* NOTIFY_KEY_TEMPLATE of the driver's own keys; a common
	                               one (template_file) is the driver's main template, in
	                               its template_mode */
} notify_key;

/* Templates parsed once and kept (notify_render.c). */
typedef struct notify_templates notify_templates;
notify_templates *notify_templates_new(void);
void notify_templates_free(notify_templates *templates);

/* One delivery's input. */
typedef struct notify_job {
	const char *channel; /* name, for SM_CHANNEL and messages */
	json_t *config;      /* the channel's config (typed values) */
	json_t *env;         /* the envelope */
	json_t *context;     /* sm_notify_context of it */
	double timeout_s;
	FILE *text_out;              /* the stdout driver's stream */
	sm_http_client *http;        /* HTTP drivers send through it; NULL: a connection each */
	notify_templates *templates; /* parsed templates to reuse; NULL: parse each time */
} notify_job;

/* What prepare made; what send sends. Everything malloc'd, freed by
 * notify_message_clear. */
#define NOTIFY_MAX_HEADERS 32
typedef struct notify_message {
	char *url;                             /* HTTP drivers */
	char *method;                          /* NULL: POST */
	char *headers[NOTIFY_MAX_HEADERS + 1]; /* "Name: value", NULL-terminated */
	char *body;                            /* HTTP body, or stdin of exec, or stdout text */
	size_t body_len;
	char *subject, *text, *html;   /* email */
	char **argv;                   /* exec, NULL-terminated */
	char **envv;                   /* exec: "NAME=value", NULL-terminated */
	struct notify_target *targets; /* drivers that post to several URLs */
	size_t ntargets;
} notify_message;

/* One URL of a message sent to several (alertmanager: each replica), with
 * what became of it so far; send updates them across attempts. */
enum notify_target_state {
	NOTIFY_TARGET_PENDING, /* not tried, or failed in a way worth retrying */
	NOTIFY_TARGET_TOOK,    /* answered 2xx */
	NOTIFY_TARGET_REFUSED, /* failed for good (a 4xx): not tried again */
};
typedef struct notify_target {
	char *url;
	enum notify_target_state state;
	char error[256]; /* the last failure, "" when none */
} notify_target;

/* One attempt's outcome. */
typedef struct notify_outcome {
	bool ok;
	bool transient;   /* worth another attempt */
	long http_status; /* 0: none */
	char error[512];  /* "" when ok; never a secret */
} notify_outcome;

typedef struct notify_driver {
	const char *name;
	const char *description;
	const notify_key *keys;              /* the driver's own, ended by {NULL} */
	enum sm_template_mode template_mode; /* of its main template (template_file) */
	/* Render job into msg: 0, or -1 with err (a failed delivery). */
	int (*prepare)(const notify_job *job, notify_message *msg, sm_error *err);
	/* One attempt. */
	void (*send)(const notify_job *job, const notify_message *msg, notify_outcome *out);
	/* The default of repeat_interval for this driver's channels, in
	 * seconds; 0: SM_NOTIFY_REPEAT_INTERVAL. */
	double repeat_default_s;
	/* The driver's own key that, when set, overrides repeat_interval, or
	 * NULL. */
	const char *repeat_key;
	/* Only for channels an operator stored: the HTTP API refuses it with a
	 * configuration from the request (it runs programs or writes to the
	 * server's own streams). */
	bool local_only;
	/* The receiver ends a firing alert that is not sent again (an
	 * Alertmanager's resolve_timeout): sm-notify resend sends every
	 * firing alert of the store to these channels every repeat_interval. */
	bool keep_alive;
} notify_driver;

/* Every driver, sorted by name: listings and messages show them in this
 * order. X(name) for each. */
#define NOTIFY_DRIVERS(X)                                                                          \
	X(alertmanager) X(email) X(exec) X(generic) X(pagerduty) X(slack) X(stdout)

#define NOTIFY_DRIVER_DECLARE(name) extern const notify_driver notify_driver_##name;
NOTIFY_DRIVERS(NOTIFY_DRIVER_DECLARE)
#undef NOTIFY_DRIVER_DECLARE

/* The table, by name. */
const notify_driver *notify_driver_find(const char *name);
/* The i-th driver of the table, or NULL past its end. */
const notify_driver *notify_driver_at(size_t i);
/* The key named name of driver (its own or a common one), or NULL. */
const notify_key *notify_key_find(const notify_driver *d, const char *name);

void notify_message_clear(notify_message *msg);
/* Append a header "Name: value" to msg: 0, -1 when full or out of memory. */
int notify_message_header(notify_message *msg, const char *name, const char *value);

/* The built-in templates (notify_templates.c). */
extern const char notify_template_text[];      /* plain text: email, stdout, exec */
extern const char notify_template_subject[];   /* email subject */
extern const char notify_template_html[];      /* email HTML */
extern const char notify_template_slack[];     /* Slack webhook body, JSON */
extern const char notify_template_pagerduty[]; /* PagerDuty payload object, JSON */
extern const char notify_template_generic[];   /* generic webhook body, JSON */

/* Render the template named by the job's channel under key (a
 * template_file-like key; key NULL: none) or else builtin, in mode,
 * against context: the malloc'd text, or NULL with err. A template file
 * is read again when it changed since it was parsed. */
char *notify_render(const notify_job *job, const char *key, const char *builtin,
                    enum sm_template_mode mode, json_t *context, sm_error *err);
/* notify_render of a JSON template parsed back: the value (an object), or
 * NULL with err when the output is not a JSON object. */
json_t *notify_render_json(const notify_job *job, const char *key, const char *builtin,
                           json_t *context, sm_error *err);
/* The same checks, and the text as rendered, malloc'd (NULL with err): a
 * body sent as the template made it, not printed again from the value. */
char *notify_render_json_text(const notify_job *job, const char *key, const char *builtin,
                              json_t *context, sm_error *err);

/* Config accessors: the value, or def when absent. */
const char *notify_cfg_str(json_t *config, const char *key, const char *def);
double notify_cfg_num(json_t *config, const char *key, double def);
bool notify_cfg_bool(json_t *config, const char *key, bool def);

/* PagerDuty's dedup_key for env (notify_pagerduty.c), malloc'd. */
char *notify_pagerduty_dedup_key(json_t *env);

/* Make msg a JSON POST of body (taken, also on error) to the channel's URL
 * under url_key: body, url and Content-Type. 0, or -1 with err. */
int notify_message_json(notify_message *msg, json_t *body, json_t *config, const char *url_key,
                        const char *url_default, sm_error *err);
/* The same with body's text (malloc'd, taken, also on error). */
int notify_message_json_text(notify_message *msg, char *body, json_t *config, const char *url_key,
                             const char *url_default, sm_error *err);

/* Send msg over HTTP (the send of slack, pagerduty and generic). */
void notify_http_send(const notify_job *job, const notify_message *msg, notify_outcome *out);

#endif
