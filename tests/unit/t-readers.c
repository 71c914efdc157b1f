/* Unit tests for lib/reader, lib/csvread and lib/ndjson. */
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/csvread.h"
#include "../../lib/ndjson.h"
#include "tap.h"

static char path[64];

static void write_file(const char *data, size_t n)
{
	FILE *fp;

	snprintf(path, sizeof(path), "/tmp/crm-unit-%d", (int)getpid());
	fp = fopen(path, "wb");
	fwrite(data, 1, n, fp);
	fclose(fp);
}

static void test_csv(void)
{
	static const char data[] =
		"\xef\xbb\xbfname;note;n\n"			/* BOM, ';' separated */
		"Ann;\"two\nlines\";1\n"			/* quoted newline: lines 2-3 */
		"\n"						/* blank line 4 */
		"Bob;\"bad\"quote;2\n"				/* malformed: line 5 */
		"Cy;  padded  ;3\r\n"				/* CRLF, spaces trimmed */
		"Di;\"never closed;4\n"				/* unterminated from line 7 */
		"Ed;x;5\n";
	struct crm_reader r;
	struct crm_csv c;
	struct crm_err e = { 0 };

	write_file(data, sizeof(data) - 1);
	ok(crm_reader_open(&r, path, 0, &e) == 0, "open csv");
	ok(crm_csv_init(&c, &r, 0, &e) == 0, "csv init");
	ok(crm_csv_header(&c, &e) == 0 && c.ncols == 3, "header has 3 columns");
	is_int(c.delim, ';', "';' guessed as separator");
	is_str(c.header[0], "name", "BOM stripped from first header");
	is_int(crm_csv_next(&c, &e), CRM_REC_OK, "record 1");
	is_str(crm_csv_field(&c, 1), "two\nlines", "quoted newline kept");
	is_int(c.line, 2, "record 1 starts on line 2");
	is_int(crm_csv_next(&c, &e), CRM_REC_BAD, "malformed quote reported");
	is_int(c.line, 5, "on line 5, after the blank line");
	ok(strstr(e.msg, ":5: malformed quoting") != NULL, "message names line: %s", e.msg);
	is_str(c.raw.data, "Bob;\"bad\"quote;2", "raw text of the bad record kept");
	is_int(crm_csv_next(&c, &e), CRM_REC_OK, "parser recovers on the next line");
	is_str(crm_csv_field(&c, 1), "padded", "spaces trimmed, CR dropped");
	is_int(c.line, 6, "line 6");
	is_int(crm_csv_next(&c, &e), CRM_REC_BAD, "unterminated quote at end of file");
	ok(strstr(e.msg, ":7: unterminated quoted field") != NULL, "message: %s", e.msg);
	is_str(c.raw.data, "Di;\"never closed;4", "only its own line is the broken record");
	is_int(crm_csv_next(&c, &e), CRM_REC_OK, "the row after it is read again, as a record");
	is_str(crm_csv_field(&c, 0), "Ed", "whole");
	is_int(c.line, 8, "on line 8");
	is_int(crm_csv_next(&c, &e), CRM_REC_EOF, "then end of file");
	crm_csv_release(&c);
	crm_reader_release(&r);
}

/* What a CSV field holds is kept or refused, never changed: a CR LF in a
 * quoted field stays, a NUL byte is a reject (it would cut the field). */
static void test_csv_bytes(void)
{
	static const char data[] = "a,b\r\n\"x\r\ny\",1\r\nr7@x.example.com\0" ".attacker.com,2\r\nok,3\r\n";
	struct crm_reader r;
	struct crm_csv c;
	struct crm_err e = { 0 };

	write_file(data, sizeof(data) - 1);
	ok(crm_reader_open(&r, path, 0, &e) == 0 && crm_csv_init(&c, &r, 0, &e) == 0 &&
	   crm_csv_header(&c, &e) == 0, "header read");
	is_str(c.header[1], "b", "the header's CR LF is its line end");
	is_int(crm_csv_next(&c, &e), CRM_REC_OK, "a record with a quoted CR LF");
	is_str(crm_csv_field(&c, 0), "x\r\ny", "the CR LF inside the quotes stays");
	is_str(crm_csv_field(&c, 1), "1", "the one at the end is the line end");
	is_int(crm_csv_next(&c, &e), CRM_REC_BAD, "a NUL in a field: a reject");
	ok(strstr(e.msg, ":4: field 1 holds a NUL byte") != NULL, "with its reason: %s", e.msg);
	is_int(crm_csv_next(&c, &e), CRM_REC_OK, "the next row reads");
	is_str(crm_csv_field(&c, 0), "ok", "whole");
	crm_csv_release(&c);
	crm_reader_release(&r);
	write_file("\xff\xfe" "a\0,\0b\0\n\0", 10);
	ok(crm_reader_open(&r, path, 0, &e) == 0 && crm_reader_line(&r, &e) < 0 &&
	   strstr(e.msg, "UTF-16"), "UTF-16 is named: %s", e.msg);
	crm_reader_release(&r);
}

/* Repeated and empty header names get suffixes; 4,000 copies of one name
 * are named in linear time (it was cubic: 82 s). */
static void test_csv_header_names(void)
{
	struct crm_reader r;
	struct crm_csv c;
	struct crm_err e = { 0 };
	struct crm_buf b;

	write_file("a,a,a_2,,a\n1,2,3,4,5\n", 22);
	ok(crm_reader_open(&r, path, 0, &e) == 0 && crm_csv_init(&c, &r, 0, &e) == 0 &&
	   crm_csv_header(&c, &e) == 0, "header read");
	is_str(c.header[1], "a_2", "a repeated name gets _2");
	is_str(c.header[2], "a_2_2", "a name taken by a suffix gets its own");
	is_str(c.header[3], "column_4", "an empty name is column_N");
	is_str(c.header[4], "a_3", "the next copy the next free suffix");
	crm_csv_release(&c);
	crm_reader_release(&r);
	crm_buf_init(&b, 0);
	for (int i = 0; i < 20000; i++)
		crm_buf_adds(&b, i ? ",email" : "email");
	crm_buf_adds(&b, "\nx\n");
	write_file(b.data, b.len);
	ok(crm_reader_open(&r, path, 0, &e) == 0 && crm_csv_init(&c, &r, 0, &e) == 0 &&
	   crm_csv_header(&c, &e) == 0, "20,000 copies of one name read");
	is_int(c.ncols, 20000, "all of them");
	is_str(c.header[19999], "email_20000", "the last is email_20000");
	crm_csv_release(&c);
	crm_reader_release(&r);
	crm_buf_release(&b);
}

static void test_ndjson(void)
{
	struct crm_reader r;
	struct crm_err e = { 0 };
	json_t *o;
	size_t big = 3 << 20;
	char *data = malloc(big + 200);
	size_t n = 0;

	n += (size_t)snprintf(data + n, 200, "{\"a\":1}\n\n  \n{\"a\":\n[1]\n");
	n += (size_t)snprintf(data + n, 200, "{\"body\":\"");
	memset(data + n, 'x', big);
	n += big;
	n += (size_t)snprintf(data + n, 200, "\"}\n{\"bad\":\"\xff\"}\n{\"last\":true}");
	write_file(data, n);
	free(data);

	ok(crm_reader_open(&r, path, 4 << 20, &e) == 0, "open ndjson, 4 MiB cap");
	is_int(crm_ndjson_next(&r, &o, &e), CRM_REC_OK, "record 1");
	is_int(json_integer_value(json_object_get(o, "a")), 1, "value of a");
	json_decref(o);
	is_int(crm_ndjson_next(&r, &o, &e), CRM_REC_BAD, "truncated JSON is bad");
	ok(strstr(e.msg, ":4: ") != NULL, "bad line 4 named after blank lines: %s", e.msg);
	is_int(crm_ndjson_next(&r, &o, &e), CRM_REC_BAD, "an array is not a record");
	ok(strstr(e.msg, "not a JSON object") != NULL, "says why: %s", e.msg);
	is_int(crm_ndjson_next(&r, &o, &e), CRM_REC_OK, "a 3 MiB record reads");
	is_int(json_string_length(json_object_get(o, "body")), big, "all of it");
	json_decref(o);
	is_int(crm_ndjson_next(&r, &o, &e), CRM_REC_BAD, "invalid UTF-8 line");
	ok(strstr(e.msg, "invalid UTF-8") != NULL, "says invalid UTF-8: %s", e.msg);
	is_int(crm_ndjson_next(&r, &o, &e), CRM_REC_OK, "last line without newline");
	json_decref(o);
	is_int(crm_ndjson_next(&r, &o, &e), CRM_REC_EOF, "eof");
	crm_reader_release(&r);

	/* The cap: the same file with a 1 MiB cap rejects the big line only. */
	ok(crm_reader_open(&r, path, 1 << 20, &e) == 0, "open with 1 MiB cap");
	is_int(crm_ndjson_next(&r, &o, &e), CRM_REC_OK, "small record fine");
	json_decref(o);
	crm_ndjson_next(&r, &o, &e);
	crm_ndjson_next(&r, &o, &e);
	is_int(crm_ndjson_next(&r, &o, &e), CRM_REC_BAD, "big line over the cap");
	ok(strstr(e.msg, ":6: line longer than 1048576 bytes") != NULL, "message: %s", e.msg);
	ok(r.line.len <= (1 << 20), "buffer did not grow past the cap (%zu)", r.line.len);
	is_int(crm_ndjson_next(&r, &o, &e), CRM_REC_BAD, "reading goes on after it");
	is_int(r.lineno, 7, "at line 7");
	crm_reader_release(&r);
	unlink(path);
}

static void test_writer(void)
{
	struct crm_buf b = { 0 };

	crm_json_str(&b, "a\"b\\c\n\x01\xc3\xa9\xff", 10);
	is_str(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\"", "escapes, UTF-8 kept, bad byte replaced");
	crm_buf_reset(&b);
	crm_json_num(&b, 0.1);
	is_str(b.data, "0.1", "shortest round-trip number");
	crm_buf_reset(&b);
	crm_json_num(&b, 1054.0);
	is_str(b.data, "1054", "integral double without point");
	crm_buf_reset(&b);
	crm_json_int(&b, -9223372036854775807LL - 1);
	is_str(b.data, "-9223372036854775808", "INT64_MIN");
	crm_buf_release(&b);

	crm_buf_init(&b, 8);
	ok(crm_buf_adds(&b, "12345678") == 0, "fill to the cap");
	ok(crm_buf_addc(&b, '9') < 0 && b.len == 8, "one more byte refused, buffer intact");
	crm_buf_release(&b);
}

int main(void)
{
	test_csv();
	test_csv_header_names();
	test_csv_bytes();
	test_ndjson();
	test_writer();
	return done_testing();
}
