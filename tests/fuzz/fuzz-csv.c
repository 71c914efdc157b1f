/*
 * fuzz-csv.c - CSV as the importer reads it: the first byte picks the
 * separator (or the guess) and the input's charset, the rest is the file;
 * every field then goes through the field parsers and match keys.
 */
#include <stdio.h>

#include "../../lib/csvread.h"
#include "../../lib/ndjson.h"
#include "fields.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int delims[] = { 0, ',', ';', '\t' };
	static const char *const charsets[] = { NULL, "UTF-16", "WINDOWS-1252", NULL };
	struct crm_reader r;
	struct crm_csv c;
	struct crm_err e = { 0 };
	FILE *fp;
	int rc;

	if (size < 2 || !(fp = fmemopen((void *)(data + 1), size - 1, "r")))
		return 0;
	if (crm_reader_stream(&r, "in.csv", fp, 1 << 16, &e) < 0) {
		fclose(fp);
		return 0;
	}
	if (crm_reader_encoding(&r, charsets[data[0] >> 2 & 3], &e) == 0 &&
	    crm_csv_init(&c, &r, delims[data[0] & 3], &e) == 0) {
		if (crm_csv_header(&c, &e) == 0) {
			while ((rc = crm_csv_next(&c, &e)) != CRM_REC_EOF && rc != CRM_REC_FATAL) {
				if (rc != CRM_REC_OK)
					continue;
				for (size_t k = 0; k < c.nfields; k++) {
					(void)crm_csv_field_len(&c, k);
					fuzz_field(crm_csv_field(&c, k), k ? crm_csv_field(&c, k - 1) : NULL);
				}
			}
		}
		crm_csv_release(&c);
	}
	crm_reader_release(&r);
	fclose(fp);
	return 0;
}
