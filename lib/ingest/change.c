/* change.c - the change decision of the write path (ingest.h): what one
 * reported alert does to the stored alert and its incident, as a pure
 * function of what the store holds, so the rules are read (and tested)
 * apart from the SQL that carries them out. */
#include "sm/ingest.h"

static const char *const change_names[] = {
    [SM_CHANGE_SKIPPED] = "skipped",   [SM_CHANGE_CREATED] = "created",
    [SM_CHANGE_UPDATED] = "updated",   [SM_CHANGE_UNCHANGED] = "unchanged",
    [SM_CHANGE_RESOLVED] = "resolved", [SM_CHANGE_REFIRED] = "refired",
};

const char *sm_change_name(enum sm_change change)
{
	return change_names[change];
}

sm_change_out sm_ingest_decide(const sm_change_in *in)
{
	sm_change_out out = {SM_CHANGE_UNCHANGED, SM_INCIDENT_NONE, false, false, false};

	if (!in->known) {
		/* A resolve of an alert never seen has nothing to resolve;
		 * stored (resolved, without an incident) only when asked. */
		if (in->resolved && !in->create_resolved)
			out.change = SM_CHANGE_SKIPPED;
		else
			out = (sm_change_out){SM_CHANGE_CREATED,
			                      in->resolved ? SM_INCIDENT_NONE : SM_INCIDENT_ATTACH,
			                      true, false, false};
	} else if (!in->was_firing && in->resolved) {
		out.change = SM_CHANGE_UNCHANGED; /* a resolved repeat writes nothing */
	} else if (in->was_firing && !in->resolved) {
		if (!in->has_incident) /* it joins one, which changes it */
			out = (sm_change_out){SM_CHANGE_UPDATED, SM_INCIDENT_ATTACH, true, false,
			                      false};
		else /* it stays with its incident, even one resolved by hand */
			out = (sm_change_out){in->same ? SM_CHANGE_UNCHANGED : SM_CHANGE_UPDATED,
			                      SM_INCIDENT_KEEP, !in->same, false, !in->same};
	} else if (in->resolved) {
		out = (sm_change_out){SM_CHANGE_RESOLVED,
		                      in->has_incident ? SM_INCIDENT_RESOLVE : SM_INCIDENT_NONE,
		                      true, true, false};
	} else {
		out = (sm_change_out){SM_CHANGE_REFIRED, SM_INCIDENT_REOPEN, true, false, false};
	}
	return out;
}

enum sm_severity sm_ingest_incident_severity(enum sm_incident_step step, enum sm_severity incident,
                                             enum sm_severity alert)
{
	switch (step) {
	case SM_INCIDENT_KEEP:
	case SM_INCIDENT_ATTACH:
		return alert > incident ? alert : incident;
	case SM_INCIDENT_REOPEN:
		return alert;
	default:
		return incident;
	}
}
