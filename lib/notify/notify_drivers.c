/* notify_drivers.c - the notify driver table, made from the one list in
 * notify_drivers.h (NOTIFY_DRIVERS), and the texts that name the drivers:
 * the "available" list of error messages and the drivers section of
 * sm-notify --help, each driver with its description and keys. Nothing
 * here knows a driver but by its row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_private.h"

#define NOTIFY_DRIVER_ROW(name) &notify_driver_##name,
static const notify_driver *const drivers[] = {NOTIFY_DRIVERS(NOTIFY_DRIVER_ROW)};
#undef NOTIFY_DRIVER_ROW
#define NDRIVERS (sizeof drivers / sizeof drivers[0])

const notify_driver *notify_driver_at(size_t i)
{
	return i < NDRIVERS ? drivers[i] : NULL;
}

const notify_driver *notify_driver_find(const char *name)
{
	for (size_t i = 0; name && i < NDRIVERS; i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

bool sm_notify_driver_known(const char *name)
{
	return notify_driver_find(name) != NULL;
}

void sm_notify_driver_names(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NDRIVERS && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", drivers[i]->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* keys as "a, b (required), c" on f, after a lead of indent columns,
 * lines wrapped before column 80 and continued at the indent. */
static void print_keys(FILE *f, int indent, const notify_key *keys)
{
	int column = indent;

	for (const notify_key *k = keys; k && k->name; k++) {
		int n = (int)strlen(k->name) + (k->required ? 11 : 0) + (k[1].name ? 1 : 0);
		if (k != keys) {
			if (column + 1 + n > 79) {
				fprintf(f, "\n%*s", indent, "");
				column = indent;
			} else {
				fputc(' ', f);
				column++;
			}
		}
		fprintf(f, "%s%s%s", k->name, k->required ? " (required)" : "",
		        k[1].name ? "," : "");
		column += n;
	}
}

char *sm_notify_drivers_help(void)
{
	char *text = NULL;
	size_t len = 0, width = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < NDRIVERS; i++)
		if (strlen(drivers[i]->name) > width)
			width = strlen(drivers[i]->name);
	fputs("Drivers (KEY=VALUE settings; see sm-notify(1)):\n", f);
	for (size_t i = 0; i < NDRIVERS; i++) {
		fprintf(f, "  %-*s  %s\n", (int)width, drivers[i]->name, drivers[i]->description);
		if (drivers[i]->keys && drivers[i]->keys[0].name) {
			fprintf(f, "  %-*s  keys: ", (int)width, "");
			print_keys(f, (int)width + 10, drivers[i]->keys);
			fputc('\n', f);
		}
	}
	fputs("  every driver takes: ", f);
	print_keys(f, 22, notify_common_keys);
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
