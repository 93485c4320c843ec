/* definitions.c - sm-pipeline definition: list, show, add, validate, rm. */
#include "sm-pipeline.h"

/* --- definition commands ----------------------------------------------------- */

/* A definition from FILE, every problem printed; the exit status. */
int read_definition(const char *file, json_t **def)
{
	json_t *problems = NULL, *p;
	sm_error err = {0};
	size_t len, i;
	char *text = slurp(file, &len);
	int rc;

	*def = NULL;
	if (!text)
		return SM_EXIT_FAILURE;
	rc = sm_pipeline_parse(text, len, def, &problems, &err);
	free(text);
	if (rc != SM_EXIT_OK && !problems)
		return sm_err(rc, "%s: %s", file, err.msg);
	json_array_foreach(problems, i, p)
	{
		sm_err(rc, "%s: %s", file, json_string_value(p));
	}
	json_decref(problems);
	return rc;
}

static int definition_list(sm_store *store, const struct args *a)
{
	static const char *const headers[] = {"name", "builtin", "flow", "description"};
	json_t *rows;
	sm_error err;
	int rc = sm_pipeline_list(store, &rows, &err);

	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, &err);
	if (as_json(a)) {
		json_lines(rows);
	} else {
		size_t i;
		json_t *row;
		sm_table *t = sm_table_new(4, headers);
		json_array_foreach(rows, i, row)
		{
			char flow[1024] = "";
			const json_t *id;
			size_t k;
			json_array_foreach(json_object_get(row, "flow"), k, id)
			{
				size_t n = strlen(flow);
				snprintf(flow + n, sizeof flow - n, "%s%s", k ? " -> " : "",
				         json_string_value(id));
			}
			sm_table_row(t);
			sm_table_cell(t, json_string_value(json_object_get(row, "name")),
			              SM_COLOR_BOLD);
			sm_table_cell(t,
			              json_is_true(json_object_get(row, "builtin")) ? "yes" : "no",
			              SM_COLOR_NONE);
			sm_table_cell(t, flow, SM_COLOR_NONE);
			sm_table_cell(t, json_string_value(json_object_get(row, "description")),
			              SM_COLOR_DIM);
		}
		table_out(t);
	}
	json_decref(rows);
	return SM_EXIT_OK;
}

int definition_command(struct args *a)
{
	static const char usage[] = "usage: sm-pipeline definition add NAME FILE|- | list | show "
	                            "NAME | validate FILE|NAME | "
	                            "rm NAME";
	const char *verb = a->noperands > 1 ? a->operands[1] : "";
	const char *name = a->noperands > 2 ? a->operands[2] : NULL;
	sm_store *store = NULL;
	json_t *def = NULL;
	sm_error err = {0};
	int rc;

	if (strcmp(verb, "list") == 0 ? a->noperands != 2
	    : strcmp(verb, "add") == 0
	        ? a->noperands != 4
	        : (!strstr(" show validate rm ", verb) || !*verb || a->noperands != 3))
		return sm_err(SM_EXIT_USAGE, "%s", usage);
	/* A definition to add or a file to validate is read before the store
	 * is touched: bad input changes nothing. */
	if (strcmp(verb, "add") == 0 && (rc = read_definition(a->operands[3], &def)) != SM_EXIT_OK)
		return rc;
	if (strcmp(verb, "validate") == 0 && (strcmp(name, "-") == 0 || access(name, F_OK) == 0)) {
		if ((rc = read_definition(name, &def)) == SM_EXIT_OK)
			printf("%s: valid (%zu nodes)\n", name,
			       json_array_size(json_object_get(def, "nodes")));
		json_decref(def);
		return rc;
	}
	if ((rc = open_store(&store)) != SM_EXIT_OK) {
		json_decref(def);
		return rc;
	}
	if (strcmp(verb, "list") == 0) {
		rc = definition_list(store, a);
	} else if (strcmp(verb, "add") == 0) {
		rc = sm_pipeline_store(store, name, def, &err);
	} else if (strcmp(verb, "rm") == 0) {
		rc = sm_pipeline_remove(store, name, &err);
	} else {
		bool builtin;
		rc = sm_pipeline_load(store, name, &def, &builtin, &err);
		if (rc == SM_EXIT_OK && strcmp(verb, "show") == 0) {
			print_json(def, !as_json(a));
		} else if (rc == SM_EXIT_OK) {
			json_t *problems = sm_pipeline_validate(def), *p;
			size_t i;
			json_array_foreach(problems, i, p)
			{
				sm_err(SM_EXIT_DATAERR, "%s: %s", name, json_string_value(p));
			}
			if (json_array_size(problems))
				rc = SM_EXIT_DATAERR;
			else
				printf("%s: valid (%zu nodes)\n", name,
				       json_array_size(json_object_get(def, "nodes")));
			json_decref(problems);
		}
	}
	if (rc != SM_EXIT_OK && *err.msg)
		sm_err_report(rc, &err);
	json_decref(def);
	sm_store_close(store);
	return rc;
}
