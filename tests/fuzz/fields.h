/*
 * fields.h - what the importer and dedupe do to one field's text: the
 * parsers of dates, numbers and emails, and the match keys and string
 * similarities. Shared by the CSV and NDJSON harnesses.
 */
#ifndef CRM_FUZZ_FIELDS_H
#define CRM_FUZZ_FIELDS_H
#include <stdlib.h>
#include <string.h>

#include "../../lib/normalize.h"
#include "../../lib/similarity.h"

static inline void fuzz_field(const char *s, const char *prev)
{
	size_t n = strlen(s);
	char *out = malloc(2 * n + 32), t[CRM_TIME_MAX], code[9];
	const char *why;
	double d;
	int64_t i;

	if (!out)
		return;
	(void)crm_utf8_valid(s, n, NULL);
	(void)crm_parse_time(s, CRM_DATE_MDY, t, &why);
	(void)crm_parse_time(s, CRM_DATE_DMY, t, &why);
	(void)crm_parse_number(s, &d, &why);
	(void)crm_parse_int(s, &i, &why);
	(void)crm_norm_email(s, out, &why);
	crm_norm_key(s, out);
	crm_fold(s, out);
	crm_nysiis(out, code);
	(void)crm_nickname(code);
	crm_sim_key_email(s, out);
	(void)crm_email_personal(out);
	crm_sim_key_phone(s, out);
	crm_sim_key_company(s, out);
	crm_sim_key_address(s, out);
	if (prev) {
		(void)crm_jaro_winkler(s, prev);
		(void)crm_edit_distance(s, prev, 3);
		(void)crm_sim_token_set(s, prev);
	}
	free(out);
}

#endif
