/* drivers.h - the webhook driver family, declared once. Private to libsm:
 * tools reach drivers through sm_driver_find() and sm_driver_parse().
 *
 * Adding a vendor: one driver_<name>.c defining sm_driver_<name>_detect and
 * sm_driver_<name>_parse, one row below, its fixtures under
 * tests/fixtures/payloads/<name>/, and its lines in sm-ingest(1). The rows are
 * in detection order: the vendors whose shapes are most specific first, so
 * a Grafana unified payload (which also looks like Alertmanager's) is
 * Grafana's; generic takes what no vendor claims; local is internal. */
#ifndef SM_LIB_DRIVERS_H
#define SM_LIB_DRIVERS_H

#include "sm/alert.h"

/* X(name, description, signature header, another header senders use, flags) */
#define SM_DRIVER_LIST(X)                                                                          \
	X(grafana, "Grafana alerting (unified and legacy)", "X-Grafana-Signature",                 \
	  "X-Grafana-Alerting-Signature", SM_DRIVER_AM_FINGERPRINT)                                \
	X(alertmanager, "Prometheus Alertmanager webhook", "X-SM-Signature", NULL,                 \
	  SM_DRIVER_AM_FINGERPRINT)                                                                \
	X(pagerduty, "PagerDuty webhooks (V3 and legacy V2)", "X-PagerDuty-Signature", NULL, 0)    \
	X(datadog, "Datadog webhook", "X-SM-Signature", NULL, 0)                                   \
	X(newrelic, "New Relic (classic and workflow)", "X-NewRelic-Signature", NULL, 0)           \
	X(opsgenie, "Opsgenie webhook", "X-SM-Signature", NULL, 0)                                 \
	X(zabbix, "Zabbix webhook media", "X-SM-Signature", NULL, 0)                               \
	X(cluster, "sm agents pushing to this hub (CLUSTER_ENABLED=1)", "X-Cluster-Signature",     \
	  NULL, SM_DRIVER_CLUSTER)                                                                 \
	X(generic, "any JSON alert or list of alerts", "X-Webhook-Signature", NULL, 0)             \
	X(local, "sm-check results (internal)", "X-SM-Signature", NULL, SM_DRIVER_INTERNAL)

#define SM_DRIVER_DECLARE(name, description, header, header_alt, flags)                            \
	bool sm_driver_##name##_detect(json_t *payload);                                           \
	int sm_driver_##name##_parse(json_t *payload, sm_alert_batch *batch, sm_error *err);
SM_DRIVER_LIST(SM_DRIVER_DECLARE)
#undef SM_DRIVER_DECLARE

#endif
