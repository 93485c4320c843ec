/* drivers.h - the webhook drivers behind the table in alert.c. Private to
 * libsm: tools reach drivers through sm_driver_find() and sm_driver_parse(). */
#ifndef SM_LIB_DRIVERS_H
#define SM_LIB_DRIVERS_H

#include "sm/alert.h"

#define SM_DRIVER(name)                                                                            \
	bool sm_driver_##name##_detect(json_t *payload);                                           \
	int sm_driver_##name##_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)

SM_DRIVER(grafana);
SM_DRIVER(alertmanager);
SM_DRIVER(pagerduty);
SM_DRIVER(datadog);
SM_DRIVER(newrelic);
SM_DRIVER(opsgenie);
SM_DRIVER(zabbix);
SM_DRIVER(cluster);
SM_DRIVER(generic);
SM_DRIVER(local);

#endif
