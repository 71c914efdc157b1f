/* Unit tests for lib/normalize: dates, numbers, emails, keys, UTF-8. */
#include "../../lib/normalize.h"
#include "tap.h"

static const char *time_of(const char *in, enum crm_date_order o)
{
	static char out[CRM_TIME_MAX];
	const char *why;

	if (crm_parse_time(in, o, out, &why) < 0)
		return NULL;
	return out;
}

static const char *why_of(const char *in)
{
	char out[CRM_TIME_MAX];
	const char *why = NULL;

	if (crm_parse_time(in, CRM_DATE_MDY, out, &why) == 0)
		return "(parsed)";
	return why;
}

int main(void)
{
	char buf[256];
	const char *why;
	double d;
	int64_t i;
	size_t at;

	/* dates */
	is_str(time_of("2017-03-01", CRM_DATE_MDY), "2017-03-01", "ISO date");
	is_str(time_of("3/1/2017", CRM_DATE_MDY), "2017-03-01", "M/D/YYYY");
	is_str(time_of("3/1/2017", CRM_DATE_DMY), "2017-01-03", "D/M/YYYY with dmy");
	is_str(time_of("10/20/2016", CRM_DATE_MDY), "2016-10-20", "MM/DD/YYYY");
	is_str(time_of("1.3.2017", CRM_DATE_MDY), "2017-03-01", "dotted dates are day first");
	is_str(time_of("20170301", CRM_DATE_MDY), "2017-03-01", "YYYYMMDD (Febrl)");
	is_str(time_of("2017/03/01", CRM_DATE_MDY), "2017-03-01", "YYYY/MM/DD");
	is_str(time_of("3/1/17", CRM_DATE_MDY), "2017-03-01", "two-digit year");
	is_str(time_of("2017-03-01T10:30:00Z", CRM_DATE_MDY), "2017-03-01T10:30:00Z", "ISO UTC");
	is_str(time_of("2017-03-01T10:30:00+02:00", CRM_DATE_MDY), "2017-03-01T08:30:00Z", "offset to UTC");
	is_str(time_of("2017-03-01 00:30-01:30", CRM_DATE_MDY), "2017-03-01T02:00:00Z", "negative offset, no seconds");
	is_str(time_of("2017-01-01T00:30:00+01:00", CRM_DATE_MDY), "2016-12-31T23:30:00Z", "offset crosses a year");
	is_str(time_of("3/1/2017 2:05 PM", CRM_DATE_MDY), "2017-03-01T14:05:00Z", "slash date with PM");
	is_str(time_of("3/1/2017 12:05 am", CRM_DATE_MDY), "2017-03-01T00:05:00Z", "12 am is midnight");
	is_str(time_of("2017-03-01T10:30:00.1234Z", CRM_DATE_MDY), "2017-03-01T10:30:00.123Z", "milliseconds kept, more cut");
	is_str(time_of("2017-03-01T10:30:00.000Z", CRM_DATE_MDY), "2017-03-01T10:30:00Z", "zero fraction dropped");
	is_str(time_of("1700000000123", CRM_DATE_MDY), "2023-11-14T22:13:20.123Z", "Unix ms keep their ms");
	is_str(time_of("1700000000", CRM_DATE_MDY), "2023-11-14T22:13:20Z", "Unix seconds");
	is_str(time_of("1700000000000", CRM_DATE_MDY), "2023-11-14T22:13:20Z", "Unix milliseconds");
	is_str(time_of("2024-02-29", CRM_DATE_MDY), "2024-02-29", "leap day");
	is_str(time_of("  2017-03-01  ", CRM_DATE_MDY), "2017-03-01", "spaces around");
	is_str(why_of("2023-02-29"), "day out of range", "no Feb 29 in 2023");
	is_str(why_of("2017-13-01"), "month out of range", "month 13");
	is_str(why_of("13/1/2017"), "month out of range", "month first in mdy");
	is_str(why_of("yesterday"), "unrecognised date format", "words");
	is_str(why_of("2017-03-01x"), "trailing characters after date", "junk after");
	is_str(why_of("2017-03-01T25:00"), "time of day out of range", "hour 25");
	is_str(why_of(""), "unrecognised date format", "empty");

	/* numbers */
	ok(crm_parse_number("1054", &d, &why) == 0 && d == 1054, "integer as number");
	ok(crm_parse_number("1,054.50", &d, &why) == 0 && d == 1054.5, "thousands separators");
	ok(crm_parse_number("$1,200", &d, &why) == 0 && d == 1200, "dollar sign");
	ok(crm_parse_number("\xe2\x82\xac" "99.9", &d, &why) == 0 && d == 99.9, "euro sign");
	ok(crm_parse_number("-3.25", &d, &why) == 0 && d == -3.25, "negative");
	ok(crm_parse_number("1e3", &d, &why) == 0 && d == 1000, "exponent");
	ok(crm_parse_number("12,34", &d, &why) < 0, "bad grouping rejected");
	is_str(why, "misplaced thousands separator", "reason for bad grouping");
	ok(crm_parse_number("abc", &d, &why) < 0, "letters rejected");
	ok(crm_parse_number("1.2.3", &d, &why) < 0, "two points rejected");
	ok(crm_parse_number("", &d, &why) < 0, "empty rejected");
	ok(crm_parse_number("1e999", &d, &why) < 0, "overflow rejected");
	ok(crm_parse_int("2,822", &i, &why) == 0 && i == 2822, "int with separator");
	ok(crm_parse_int("12.0", &i, &why) == 0 && i == 12, "spreadsheet 12.0 is an int");
	ok(crm_parse_int("12.5", &i, &why) < 0, "12.5 is not an int");
	ok(crm_parse_int("99999999999999999999", &i, &why) < 0, "int overflow rejected");

	/* emails */
	ok(crm_norm_email("  Ann.Lee@Example.COM ", buf, &why) == 0, "email accepted");
	is_str(buf, "ann.lee@example.com", "email lower-cased and trimmed");
	ok(crm_norm_email("ann@example", buf, &why) < 0, "no dot in domain");
	ok(crm_norm_email("a@b@c.com", buf, &why) < 0, "two @");
	ok(crm_norm_email("@example.com", buf, &why) < 0, "no local part");
	ok(crm_norm_email("ann lee@example.com", buf, &why) < 0, "space inside");
	ok(crm_norm_email("ann@.com", buf, &why) < 0, "empty domain label");

	/* keys */
	crm_norm_key("E-mail Address", buf);
	is_str(buf, "emailaddress", "header key");
	crm_norm_key("GTXPro", buf);
	is_str(buf, "gtxpro", "GTXPro key");
	crm_norm_key("GTX Pro", buf);
	is_str(buf, "gtxpro", "GTX Pro has the same key");
	crm_norm_key("Müller GmbH", buf);
	is_str(buf, "m\xc3\xbcllergmbh", "non-ASCII kept in keys");

	ok(crm_is_plain_number("1996"), "1996 is a plain number");
	ok(crm_is_plain_number("-2.5"), "-2.5 is a plain number");
	ok(!crm_is_plain_number("04011"), "leading zero stays text (postcodes)");
	ok(!crm_is_plain_number("1234567890123456"), "16 digits stay text (ids)");
	ok(!crm_is_plain_number("1."), "1. is not plain");

	/* UTF-8 */
	ok(crm_utf8_valid("caf\xc3\xa9", 5, &at), "valid two-byte sequence");
	ok(!crm_utf8_valid("caf\xe9", 4, &at) && at == 3, "Latin-1 byte found at 3");
	ok(!crm_utf8_valid("\xc0\xaf", 2, &at), "overlong rejected");
	ok(!crm_utf8_valid("\xed\xa0\x80", 3, &at), "surrogate rejected");
	ok(!crm_utf8_valid("a\0b", 3, &at) && at == 1, "NUL rejected");
	ok(crm_utf8_valid("\xf0\x9f\x98\x80", 4, &at), "emoji accepted");
	ok(!crm_utf8_valid("\xf0\x9f\x98", 3, &at), "truncated sequence rejected");
	return done_testing();
}
