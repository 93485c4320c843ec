/* fuzz_dotenv.c - libFuzzer harness for the two line formats sm reads from
 * files an operator writes: the dotenv file (KEY=VALUE, quotes, comments,
 * export) and the API keys file ("NAME SHA256HEX"). The input is written
 * to a memory file and read through its /proc path, as the tools read a
 * path. A refusal must say why; nothing may crash or leak. The variables a
 * dotenv input sets are cleared after each run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sm/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", 0);
	char path[64];
	sm_error err;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	err.msg[0] = '\0';
	if (sm_config_load_file(path, &err) < 0 && !err.msg[0])
		abort();
	clearenv();
	err.msg[0] = '\0';
	if (sm_config_api_key_check(path, "a key", &err) < 0 && !err.msg[0])
		abort();
	close(fd);
	return 0;
}
