/* check_stored.c - what of a check result's metrics is stored: the long
 * lists cut to their largest items, so a check_runs row stays a few KB
 * however much a checker found (see sm_check_stored_metrics). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/check.h"

/* The size an item of a list is ranked by: its "size_mb". */
static bool item_size(const json_t *item, double *size)
{
	const json_t *v = json_object_get(item, "size_mb");

	if (!json_is_number(v))
		return false;
	*size = json_number_value(v);
	return true;
}

/* Largest first; items without a size after, in their order. */
static int by_size(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	double sx = 0, sy = 0;
	bool hx = item_size(x, &sx), hy = item_size(y, &sy);

	if (hx != hy)
		return hy - hx;
	return sx < sy ? 1 : sx > sy ? -1 : 0;
}

static bool all_numbers(const json_t *list)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
	{
		if (!json_is_number(v))
			return false;
	}
	return true;
}

/* list (longer than the cap) into parent as its SM_CHECK_STORED_ITEMS
 * largest items, and after it, unless the checker set them, <name>_count (how
 * many there were) and <name>_total_mb (their sizes added up). */
static void add_capped_list(json_t *parent, const char *name, const json_t *list)
{
	size_t n = json_array_size(list), sized = 0;
	json_t **items = malloc(n * sizeof *items), *out = json_array();
	double total = 0, size;
	char key[256];

	if (!items) {
		json_object_set_new(parent, name, json_array());
		json_decref(out);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		items[i] = json_array_get(list, i);
		if (item_size(items[i], &size)) {
			total += size;
			sized++;
		}
	}
	/* qsort is not stable: sort only when every item has a size, else
	 * keep the checker's order (most relevant first). */
	if (sized == n)
		qsort(items, n, sizeof *items, by_size);
	for (size_t i = 0; i < SM_CHECK_STORED_ITEMS; i++)
		json_array_append_new(out, json_deep_copy(items[i]));
	free(items);
	json_object_set_new(parent, name, out);
	snprintf(key, sizeof key, "%s_count", name);
	if (!json_object_get(parent, key))
		json_object_set_new(parent, key, json_integer((json_int_t)n));
	snprintf(key, sizeof key, "%s_total_mb", name);
	if (sized == n && !json_object_get(parent, key))
		json_object_set_new(parent, key, json_real(round(total * 10) / 10));
}

static json_t *stored_object(const json_t *o)
{
	json_t *out = json_object(), *v;
	const char *name;

	json_object_foreach((json_t *)o, name, v)
	{
		if (json_is_object(v))
			json_object_set_new(out, name, stored_object(v));
		else if (json_is_array(v) && json_array_size(v) > SM_CHECK_STORED_ITEMS &&
		         !all_numbers(v))
			add_capped_list(out, name, v);
		else /* the checker's own count or total wins over one added */
			json_object_set_new(out, name, json_deep_copy(v));
	}
	return out;
}

/* Whether o, or an object in it, holds a list that is cut. */
static bool cuts(const json_t *o)
{
	const char *name;
	json_t *v;

	json_object_foreach((json_t *)o, name, v)
	{
		if (json_is_object(v)
		        ? cuts(v)
		        : json_is_array(v) && json_array_size(v) > SM_CHECK_STORED_ITEMS &&
		              !all_numbers(v))
			return true;
	}
	return false;
}

json_t *sm_check_stored_metrics(const json_t *metrics)
{
	if (!json_is_object(metrics))
		return json_object();
	/* Most results have no long list: they are stored as they are, and
	 * a run does not copy every result's metrics to print and free them. */
	if (!cuts(metrics))
		return json_incref((json_t *)metrics);
	return stored_object(metrics);
}
