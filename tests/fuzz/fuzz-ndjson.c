/*
 * fuzz-ndjson.c - NDJSON as the importer and the filters read it: the
 * capped line reader, the pre-scan that bounds a record's tree, the
 * record; every string value then goes through the field parsers.
 */
#include <stdio.h>

#include "../../lib/ndjson.h"
#include "fields.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crm_reader r;
	struct crm_err e = { 0 };
	FILE *fp;
	json_t *o;
	int rc;

	if (!size || !(fp = fmemopen((void *)data, size, "r")))
		return 0;
	if (crm_reader_stream(&r, "in.ndjson", fp, 1 << 16, &e) < 0) {
		fclose(fp);
		return 0;
	}
	while ((rc = crm_ndjson_next(&r, &o, &e)) != CRM_REC_EOF && rc != CRM_REC_FATAL) {
		const char *k, *prev = NULL;
		json_t *v;
		char out[64];

		if (rc != CRM_REC_OK)
			continue;
		(void)crm_json_top_string(r.line.data, r.line.len, "id", out, sizeof(out));
		json_object_foreach(o, k, v) {
			if (json_is_string(v)) {
				fuzz_field(json_string_value(v), prev);
				prev = json_string_value(v);
			}
		}
		json_decref(o);
	}
	crm_reader_release(&r);
	fclose(fp);
	return 0;
}
