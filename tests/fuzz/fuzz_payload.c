/* fuzz_payload.c - libFuzzer harness: any bytes as a webhook payload, through
 * auto-detection and every driver forced, then the dry-run envelope. Nothing
 * may crash, leak or read out of bounds (built with ASan+UBSan by
 * scripts/fuzz). */
#include <stdint.h>
#include <stdlib.h>

#include "sm/alert.h"
#include "sm/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *payload = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	size_t n;
	const sm_driver *all = sm_drivers(&n);

	setenv("CLUSTER_ENABLED", "1", 0);
	if (!payload)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		sm_alert_batch batch = {0};
		const sm_driver *used = NULL;
		sm_error err;
		if (sm_driver_parse(i < n ? &all[i] : NULL, payload, &used, &batch, &err) == 0) {
			json_t *env = sm_ingest_dry_run(&batch, used->name, NULL);
			char *text = json_dumps(env, 0);
			free(text);
			json_decref(env);
		}
		sm_batch_clear(&batch);
	}
	json_decref(payload);
	return 0;
}
