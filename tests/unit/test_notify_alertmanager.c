/* test_notify_alertmanager.c - the alertmanager notify driver: its URL
 * list, the exact body, and delivery to two replicas played by
 * tests/fixtures/bin/receiver.py on 127.0.0.1 (both up, one down, both
 * down, a 4xx from one, a retry that skips the replica that refused). */
#include <signal.h>
#include <sys/wait.h>
#include "notify/notify_drivers.h"
#include "sm/notify.h"
#include "testutil.h"

#define API_KEY "am-s3cr3t-k3y"

static struct replica {
	pid_t pid;
	int port;
	char log[4096], script[4096];
} rx[2];

static int start_one(struct replica *r, const char *name)
{
	char receiver[4096], line[64], file[64];
	int fds[2];
	FILE *out;

	snprintf(receiver, sizeof receiver, "%s", fixture("bin/receiver.py"));
	snprintf(file, sizeof file, "%s.log", name);
	snprintf(r->log, sizeof r->log, "%s", at(file));
	snprintf(file, sizeof file, "%s.script", name);
	snprintf(r->script, sizeof r->script, "%s", at(file));
	if (pipe(fds) < 0)
		return -1;
	r->pid = fork();
	if (r->pid < 0)
		return -1;
	if (r->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl("/usr/bin/python3", "python3", receiver, "--log", r->log, "--script",
		      r->script, "0", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	out = fdopen(fds[0], "r");
	if (!out)
		return -1;
	if (!fgets(line, sizeof line, out) || sscanf(line, "PORT %d", &r->port) != 1) {
		fclose(out);
		return -1;
	}
	fclose(out);
	return 0;
}

static int start_replicas(void **state)
{
	(void)state;
	scratch_make("sm-am");
	return start_one(&rx[0], "a") < 0 || start_one(&rx[1], "b") < 0 ? -1 : 0;
}

static int stop_replicas(void **state)
{
	for (int i = 0; i < 2; i++)
		if (rx[i].pid > 0) {
			kill(rx[i].pid, SIGTERM);
			waitpid(rx[i].pid, NULL, 0);
			rx[i].pid = 0;
		}
	return scratch_remove(state);
}

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s: %s", jerr.text, text);
	return v;
}

/* The answers replica r gives to its next requests, one line each. */
static void script(const struct replica *r, const char *lines)
{
	FILE *f = fopen(r->script, "w");

	assert_non_null(f);
	fputs(lines, f);
	fclose(f);
}

/* The requests replica r got, as a JSON array; emptied. */
static json_t *requests(const struct replica *r)
{
	json_t *list = json_array();
	char line[65536];
	FILE *f = fopen(r->log, "r");

	while (f && fgets(line, sizeof line, f))
		json_array_append_new(list, load(line));
	if (f) {
		fclose(f);
		unlink(r->log);
	}
	return list;
}

/* A port nothing listens on: a replica that is down. */
#define DOWN "http://127.0.0.1:1"

/* An envelope: incident 7 resolving, one alert resolved, one firing. */
static json_t *envelope(void)
{
	return load(
	    "{\"v\":1,\"source\":\"alertmanager\",\"host\":\"hub-1\","
	    "\"incident\":{\"id\":7,\"title\":\"DiskFull on db-01\",\"status\":\"open\","
	    "\"severity\":\"critical\",\"change\":\"escalated\"},"
	    "\"alerts\":[{\"fingerprint\":\"f1\",\"name\":\"DiskFull\",\"status\":\"firing\","
	    "\"severity\":\"critical\",\"description\":\"disk / is 97% full\","
	    "\"labels\":{\"instance\":\"db-01:9100\",\"job\":\"node\",\"bad-name\":\"x\","
	    "\"empty\":\"\"},"
	    "\"annotations\":{\"runbook\":\"https://runbooks/disk\"},"
	    "\"started_at\":\"2026-11-21T13:40:00Z\",\"ended_at\":null,"
	    "\"generator_url\":\"http://prom:9090/graph\",\"change\":\"created\"},"
	    "{\"fingerprint\":\"f2\",\"name\":\"NodeDown\",\"status\":\"resolved\","
	    "\"severity\":\"warning\",\"labels\":{\"alertname\":\"NodeDown\","
	    "\"severity\":\"page\"},\"annotations\":{\"summary\":\"node down\"},"
	    "\"started_at\":\"2026-11-21T13:00:00Z\","
	    "\"ended_at\":\"2026-11-21T14:02:10.500Z\",\"change\":\"resolved\"}],"
	    "\"analysis\":{\"provider\":\"local\",\"status\":\"ok\",\"summary\":\"clean "
	    "/var/log\"}}");
}

/* prepare and send once with config; out filled, msg kept for more sends. */
static void prepare(const char *config, json_t *env, json_t **cfg, json_t **ctx, notify_job *job,
                    notify_message *msg)
{
	const notify_driver *d = notify_driver_find("alertmanager");
	sm_error err;

	assert_non_null(d);
	*cfg = load(config);
	*ctx = sm_notify_context(env, "am");
	*job = (notify_job){
	    .channel = "am", .config = *cfg, .env = env, .context = *ctx, .timeout_s = 5};
	memset(msg, 0, sizeof *msg);
	assert_int_equal(d->prepare(job, msg, &err), 0);
}

/* Send env through a channel with the URLs given; the outcome. */
static notify_outcome send_to(const char *urls, json_t *env)
{
	const notify_driver *d = notify_driver_find("alertmanager");
	char config[1024];
	json_t *cfg, *ctx;
	notify_job job;
	notify_message msg;
	notify_outcome out;

	snprintf(config, sizeof config, "{\"urls\":[%s],\"api_key\":\"" API_KEY "\"}", urls);
	prepare(config, env, &cfg, &ctx, &job, &msg);
	d->send(&job, &msg, &out);
	notify_message_clear(&msg);
	json_decref(ctx);
	json_decref(cfg);
	return out;
}

static char *url_of(const struct replica *r, char *buf, size_t size)
{
	snprintf(buf, size, "\"http://127.0.0.1:%d/\"", r->port);
	return buf;
}

static void urls_are_checked(void **state)
{
	char *words[] = {"urls=http://am-1:9093, http://am-2:9093/ ,https://am-3", NULL};
	json_t *cfg = NULL, *masked;
	sm_error err;
	char *shown;

	(void)state;
	assert_int_equal(sm_notify_config_build("alertmanager", words, 1, &cfg, &err), 0);
	shown = json_dumps(cfg, JSON_COMPACT);
	assert_string_equal(
	    shown, "{\"urls\":[\"http://am-1:9093\",\"http://am-2:9093/\",\"https://am-3\"]}");
	free(shown);
	json_decref(cfg);

	words[0] = "urls=http://am-1:9093,ftp://am-2:21";
	assert_int_equal(sm_notify_config_build("alertmanager", words, 1, &cfg, &err), 64);
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "urls: entry 2 'ftp://am-2:21': "));
	words[0] = "urls=http://am-1:9093,,http://am-2:9093";
	assert_int_equal(sm_notify_config_build("alertmanager", words, 1, &cfg, &err), 64);
	assert_string_equal(err.msg, "urls: entry 2 '': empty");
	words[0] = "urls=http://am-1:9093,http://am-1:9093";
	assert_int_equal(sm_notify_config_build("alertmanager", words, 1, &cfg, &err), 64);
	assert_string_equal(err.msg, "urls: entry 2 'http://am-1:9093': given twice");
	/* An entry that may hold a secret is named by its number only. */
	words[0] = "urls=http://am-1:9093,http://sm:pw-s3cr3t@am-2:9093";
	assert_int_equal(sm_notify_config_build("alertmanager", words, 1, &cfg, &err), 64);
	assert_non_null(strstr(err.msg, "urls: entry 2: user:password@"));
	assert_null(strstr(err.msg, "pw-s3cr3t"));
	words[0] = "urls=http://am-1:9093/?token=t0k3n";
	assert_int_equal(sm_notify_config_build("alertmanager", words, 1, &cfg, &err), 64);
	assert_string_equal(err.msg, "urls: entry 1: a base URL takes no query or fragment");
	assert_int_equal(sm_notify_config_build("alertmanager", NULL, 0, &cfg, &err), 64);
	assert_string_equal(err.msg, "driver alertmanager needs urls");

	/* api_key is masked whole; the URLs are shown. */
	words[0] = "urls=http://am-1:9093";
	words[1] = "api_key=" API_KEY;
	assert_int_equal(sm_notify_config_build("alertmanager", words, 2, &cfg, &err), 0);
	masked = sm_notify_config_masked("alertmanager", cfg);
	shown = json_dumps(masked, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(shown, "{\"api_key\":\"********\",\"urls\":[\"http://am-1:9093\"]}");
	free(shown);
	json_decref(masked);
	json_decref(cfg);
}

static void the_exact_body(void **state)
{
	json_t *env = envelope(), *cfg, *ctx, *body, *want;
	notify_job job;
	notify_message msg;
	bool auth = false, type = false;

	(void)state;
	prepare("{\"urls\":[\"http://am-1:9093/\",\"http://am-2:9093/x\"],"
	        "\"api_key\":\"" API_KEY "\"}",
	        env, &cfg, &ctx, &job, &msg);
	assert_int_equal(msg.ntargets, 2);
	assert_string_equal(msg.targets[0].url, "http://am-1:9093/api/v2/alerts");
	assert_string_equal(msg.targets[1].url, "http://am-2:9093/x/api/v2/alerts");
	for (size_t i = 0; msg.headers[i]; i++) {
		auth = auth || strcmp(msg.headers[i], "Authorization: Bearer " API_KEY) == 0;
		type = type || strcmp(msg.headers[i], "Content-Type: application/json") == 0;
	}
	assert_true(auth);
	assert_true(type);
	body = load(msg.body);
	want = load(
	    "[{\"labels\":{\"instance\":\"db-01:9100\",\"job\":\"node\",\"bad_name\":\"x\","
	    "\"alertname\":\"DiskFull\",\"severity\":\"critical\",\"sm_source\":\"alertmanager\"},"
	    "\"annotations\":{\"runbook\":\"https://runbooks/disk\","
	    "\"summary\":\"DiskFull on db-01\",\"description\":\"disk / is 97% full\","
	    "\"sm_incident_id\":\"7\",\"sm_incident_title\":\"DiskFull on db-01\","
	    "\"sm_analysis\":\"clean /var/log\"},"
	    "\"startsAt\":\"2026-11-21T13:40:00Z\",\"generatorURL\":\"http://prom:9090/graph\"},"
	    "{\"labels\":{\"alertname\":\"NodeDown\",\"severity\":\"page\",\"instance\":\"hub-1\","
	    "\"sm_source\":\"alertmanager\"},"
	    "\"annotations\":{\"summary\":\"node down\",\"sm_incident_id\":\"7\","
	    "\"sm_incident_title\":\"DiskFull on db-01\",\"sm_analysis\":\"clean /var/log\"},"
	    "\"startsAt\":\"2026-11-21T13:00:00Z\",\"endsAt\":\"2026-11-21T14:02:10.500Z\"}]");
	if (!json_equal(body, want)) {
		char *got = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("body: %s", got);
	}
	json_decref(want);
	json_decref(body);
	notify_message_clear(&msg);
	json_decref(ctx);
	json_decref(cfg);
	json_decref(env);
}

/* An agent's alert is named "<checker>: <message>", and the message
 * changes while it fires: its checker names it in the cluster, so the
 * firing alert and its resolve are one alert there. */
static void an_agents_alert_is_named_by_its_checker(void **state)
{
	static const char *const messages[] = {"disk: / 95% used", "disk: / 40% used"};
	json_t *names = json_array();

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		json_t *env = json_pack(
		    "{s:i,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s}}]}", "v", 1, "source",
		    "cluster", "host", "hub-1", "alerts", "fingerprint", "disk-web-01", "name",
		    messages[i], "status", i ? "resolved" : "firing", "severity", "critical",
		    "labels", "checker", "disk", "hostname", "web-01", "instance_id", "web-01");
		json_t *cfg, *ctx, *body;
		notify_job job;
		notify_message msg;

		prepare("{\"urls\":[\"http://am-1:9093\"]}", env, &cfg, &ctx, &job, &msg);
		body = load(msg.body);
		json_array_append(names, json_object_get(json_array_get(body, 0), "labels"));
		json_decref(body);
		notify_message_clear(&msg);
		json_decref(ctx);
		json_decref(cfg);
		json_decref(env);
	}
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(names, 0), "alertname")), "disk");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(names, 0), "instance")), "web-01");
	assert_true(json_equal(json_array_get(names, 0), json_array_get(names, 1)));
	json_decref(names);
}

static void every_replica_gets_it(void **state)
{
	json_t *env = envelope(), *a, *b;
	char ua[64], ub[64], urls[160];
	notify_outcome out;

	(void)state;
	script(&rx[0], "");
	script(&rx[1], "");
	snprintf(urls, sizeof urls, "%s,%s", url_of(&rx[0], ua, sizeof ua),
	         url_of(&rx[1], ub, sizeof ub));
	out = send_to(urls, env);
	assert_true(out.ok);
	assert_string_equal(out.error, "");
	a = requests(&rx[0]);
	b = requests(&rx[1]);
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(json_array_size(b), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "path")),
	                    "/api/v2/alerts");
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(json_array_get(b, 0), "headers"), "Authorization")),
	                    "Bearer " API_KEY);
	assert_true(json_equal(json_object_get(json_array_get(a, 0), "body"),
	                       json_object_get(json_array_get(b, 0), "body")));
	json_decref(a);
	json_decref(b);
	json_decref(env);
}

static void one_down_still_delivered(void **state)
{
	json_t *env = envelope(), *a;
	char ua[64], urls[160];
	notify_outcome out;

	(void)state;
	script(&rx[0], "");
	snprintf(urls, sizeof urls, "\"" DOWN "\",%s", url_of(&rx[0], ua, sizeof ua));
	out = send_to(urls, env);
	assert_true(out.ok);
	assert_false(out.transient);
	/* The replica that did not take it is named; the key is not. */
	assert_non_null(
	    strstr(out.error, "1 of 2 replicas did not take it; " DOWN "/api/v2/alerts: "));
	assert_null(strstr(out.error, API_KEY));
	a = requests(&rx[0]);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	json_decref(env);
}

static void both_down_is_temporary(void **state)
{
	json_t *env = envelope();
	char ua[64], ub[64], urls[160];
	notify_outcome out;

	(void)state;
	script(&rx[0], "503\n");
	script(&rx[1], "500\n");
	snprintf(urls, sizeof urls, "%s,%s", url_of(&rx[0], ua, sizeof ua),
	         url_of(&rx[1], ub, sizeof ub));
	out = send_to(urls, env);
	assert_false(out.ok);
	assert_true(out.transient);
	assert_non_null(strstr(out.error, "2 of 2 replicas did not take it; "));
	assert_non_null(strstr(out.error, "HTTP 503"));
	assert_non_null(strstr(out.error, "HTTP 500"));
	json_decref(requests(&rx[0]));
	json_decref(requests(&rx[1]));
	out = send_to("\"" DOWN "\",\"http://127.0.0.1:2\"", env);
	assert_false(out.ok);
	assert_true(out.transient);
	json_decref(env);
}

static void a_4xx_is_final_for_that_replica(void **state)
{
	const notify_driver *d = notify_driver_find("alertmanager");
	json_t *env = envelope(), *cfg, *ctx, *a, *b;
	char ua[64], ub[64], config[256];
	notify_job job;
	notify_message msg;
	notify_outcome out;

	(void)state;
	/* One refuses, one took: delivered, the refusal named. */
	script(&rx[0], "400 - {\"message\":\"bad label\"}\n");
	script(&rx[1], "");
	snprintf(config, sizeof config, "{\"urls\":[%s,%s]}", url_of(&rx[0], ua, sizeof ua),
	         url_of(&rx[1], ub, sizeof ub));
	prepare(config, env, &cfg, &ctx, &job, &msg);
	d->send(&job, &msg, &out);
	assert_true(out.ok);
	assert_non_null(strstr(out.error, "/api/v2/alerts: HTTP 400: {\"message\":\"bad label\"}"));
	notify_message_clear(&msg);
	json_decref(requests(&rx[0]));
	json_decref(requests(&rx[1]));

	/* One refuses, one fails for now: a retry goes to the second only. */
	script(&rx[0], "400\n");
	script(&rx[1], "500\n200\n");
	memset(&msg, 0, sizeof msg);
	assert_int_equal(d->prepare(&job, &msg, &(sm_error){0}), 0);
	d->send(&job, &msg, &out);
	assert_false(out.ok);
	assert_true(out.transient);
	d->send(&job, &msg, &out);
	assert_true(out.ok);
	assert_non_null(strstr(out.error, "1 of 2 replicas did not take it; "));
	assert_non_null(strstr(out.error, ": HTTP 400"));
	a = requests(&rx[0]);
	b = requests(&rx[1]);
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(json_array_size(b), 2);
	json_decref(a);
	json_decref(b);

	/* Every replica refusing is a permanent failure. */
	script(&rx[0], "400\n");
	script(&rx[1], "422\n");
	notify_message_clear(&msg);
	assert_int_equal(d->prepare(&job, &msg, &(sm_error){0}), 0);
	d->send(&job, &msg, &out);
	assert_false(out.ok);
	assert_false(out.transient);
	json_decref(requests(&rx[0]));
	json_decref(requests(&rx[1]));
	notify_message_clear(&msg);
	json_decref(ctx);
	json_decref(cfg);
	json_decref(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(urls_are_checked),
	    cmocka_unit_test(the_exact_body),
	    cmocka_unit_test(an_agents_alert_is_named_by_its_checker),
	    cmocka_unit_test(every_replica_gets_it),
	    cmocka_unit_test(one_down_still_delivered),
	    cmocka_unit_test(both_down_is_temporary),
	    cmocka_unit_test(a_4xx_is_final_for_that_replica),
	};

	return cmocka_run_group_tests(tests, start_replicas, stop_replicas);
}
