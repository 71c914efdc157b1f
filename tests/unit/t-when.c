/*
 * t-when.c - due dates from generated tables: every form below is said
 * on many call days (each weekday, month and year ends), and its expected
 * date is worked out here by plain calendar arithmetic, not by the
 * grammar under test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/when.h"
#include "tap.h"

static const char *const WD[7] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday",
				  "Friday", "Saturday"};
static const char *const WD3[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const MON[12] = {"January", "February", "March", "April", "May", "June",
				    "July", "August", "September", "October", "November",
				    "December"};
static const char *const MON3[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
				     "Sept", "Oct", "Nov", "Dec"};
static const char *const SMALL[20] = {"zero", "one", "two", "three", "four", "five", "six",
	"seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
	"sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const TENS[10] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty",
				     "seventy", "eighty", "ninety"};
static const char *const NTH[32] = {"", "first", "second", "third", "fourth", "fifth", "sixth",
	"seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
	"fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth",
	"twenty-first", "twenty-second", "twenty-third", "twenty-fourth", "twenty-fifth",
	"twenty-sixth", "twenty-seventh", "twenty-eighth", "twenty-ninth", "thirtieth",
	"thirty-first"};

static void words(int n, char *out, size_t len)
{
	if (n < 20)
		snprintf(out, len, "%s", SMALL[n]);
	else if (n % 10)
		snprintf(out, len, "%s-%s", TENS[n / 10], SMALL[n % 10]);
	else
		snprintf(out, len, "%s", TENS[n / 10]);
}

static const char *suffix(int d)
{
	return d % 10 == 1 && d != 11 ? "st" : d % 10 == 2 && d != 12 ? "nd" : d % 10 == 3 && d != 13 ? "rd" : "th";
}

/* A calendar day, and days added to it. */
struct day {
	int y, m, d, wd;	/* m 1-12 */
};

static struct day add(struct day a, int n)
{
	struct tm tm = {0};
	struct day r;

	tm.tm_year = a.y - 1900;
	tm.tm_mon = a.m - 1;
	tm.tm_mday = a.d + n;
	tm.tm_hour = 12;
	timegm(&tm);
	r.y = tm.tm_year + 1900, r.m = tm.tm_mon + 1, r.d = tm.tm_mday, r.wd = tm.tm_wday;
	return r;
}

static struct day last_of(int y, int m)	/* m 1-12 */
{
	struct day a = {y, m + 1, 1, 0};

	if (m == 12)
		a.y++, a.m = 1;
	return add(a, -1);
}

static int n_forms, n_ok;

static void check(struct day call, const char *text, struct day want)
{
	struct tm tm = {0};
	char got[11] = "none", exp[11], phrase[96];

	tm.tm_year = call.y - 1900;
	tm.tm_mon = call.m - 1;
	tm.tm_mday = call.d;
	tm.tm_hour = 10;
	snprintf(exp, sizeof exp, "%04d-%02d-%02d", want.y, want.m, want.d);
	if (!crm_due_date(text, timegm(&tm), got, phrase, sizeof phrase))
		snprintf(got, sizeof got, "none");
	n_forms++;
	if (!strcmp(got, exp)) {
		n_ok++;
		return;
	}
	ok(0, "said %04d-%02d-%02d (%s, 10:00): '%s' -> %s, got %s", call.y, call.m, call.d,
	   WD3[call.wd], text, exp, got);
}

static void forms_on(struct day c)
{
	char s[160], w[32];

	check(c, "I'll send it today", c);
	check(c, "I'll send it tomorrow", add(c, 1));
	check(c, "I'll send it the day after tomorrow", add(c, 2));
	check(c, "by end of day", c);
	check(c, "I'll get it over EOD", c);
	/* spans, in digits and in words */
	for (int n = 1; n <= 60; n++) {
		words(n, w, sizeof w);
		snprintf(s, sizeof s, "I'll have it done in %d days", n);
		check(c, s, add(c, n));
		snprintf(s, sizeof s, "we will come back within %s days", w);
		check(c, s, add(c, n));
		if (n <= 8) {
			snprintf(s, sizeof s, "in %s weeks", w);
			check(c, s, add(c, 7 * n));
			snprintf(s, sizeof s, "%s weeks from now", w);
			check(c, s, add(c, 7 * n));
		}
	}
	check(c, "within a fortnight", add(c, 14));
	check(c, "in a couple of days", add(c, 2));
	check(c, "a week from today", add(c, 7));
	check(c, "in the next sixty minutes", c);
	check(c, "within the hour", c);
	check(c, "within 24 hours", add(c, 1));
	check(c, "within forty-eight hours", add(c, 2));
	/* clock times: the call's day; a time already past, the next day */
	check(c, "by 2pm", c);
	check(c, "by 2 pm", c);
	check(c, "by 2 p.m.", c);
	check(c, "by 14:00", c);
	check(c, "at two o'clock", c);
	check(c, "by 4:30pm", c);
	check(c, "before noon", c);
	check(c, "by 9am", add(c, 1));
	check(c, "by 2pm tomorrow", add(c, 1));
	check(c, "tomorrow at 2pm", add(c, 1));
	/* weekdays */
	for (int v = 0; v < 7; v++) {
		int ahead = (v - c.wd + 7) % 7, nextw = 7 - (c.wd + 6) % 7 + (v + 6) % 7;
		struct day next = add(c, ahead ? ahead : 7);
		snprintf(s, sizeof s, "I'll call you on %s", WD[v]);
		check(c, s, next);
		snprintf(s, sizeof s, "by %s", WD3[v]);
		check(c, s, next);
		snprintf(s, sizeof s, "this %s", WD[v]);
		check(c, s, add(c, ahead));
		snprintf(s, sizeof s, "next %s", WD[v]);
		check(c, s, add(c, nextw));
		snprintf(s, sizeof s, "%s next week", WD[v]);
		check(c, s, add(c, nextw));
		snprintf(s, sizeof s, "a week from %s", WD[v]);
		check(c, s, add(next, 7));
		snprintf(s, sizeof s, "%s week", WD[v]);
		check(c, s, add(next, 7));
		snprintf(s, sizeof s, "by %s morning", WD[v]);
		check(c, s, next);
	}
	/* a weekday with its day of the month: the number says which */
	for (int k = 0; k < 40; k++) {
		struct day d = add(c, k);
		int sooner = 0;	/* the same weekday and day number earlier: that one */
		for (int j = 0; j < k; j++)
			sooner |= add(c, j).d == d.d && add(c, j).wd == d.wd;
		if (sooner)
			continue;
		snprintf(s, sizeof s, "on %s %d%s", WD[d.wd], d.d, suffix(d.d));
		check(c, s, d);
		snprintf(s, sizeof s, "by %s the %d%s", WD3[d.wd], d.d, suffix(d.d));
		check(c, s, d);
		snprintf(s, sizeof s, "%s the %s", WD[d.wd], NTH[d.d]);
		check(c, s, d);
		snprintf(s, sizeof s, "%s, %s %d", WD[d.wd], MON[d.m - 1], d.d);
		check(c, s, d);
	}
	/* the day of the month alone: the next one */
	for (int dd = 1; dd <= 28; dd++) {
		int k = 0;
		while (add(c, k).d != dd)
			k++;
		snprintf(s, sizeof s, "by the %d%s", dd, suffix(dd));
		check(c, s, add(c, k));
		snprintf(s, sizeof s, "on the %s", NTH[dd]);
		check(c, s, add(c, k));
	}
	/* dates with a month, in the next year */
	for (int k = 0; k < 360; k += 17) {
		struct day d = add(c, k);
		snprintf(s, sizeof s, "by %s %d", MON[d.m - 1], d.d);
		check(c, s, d);
		snprintf(s, sizeof s, "on %d %s", d.d, MON[d.m - 1]);
		check(c, s, d);
		snprintf(s, sizeof s, "the %s of %s", NTH[d.d], MON[d.m - 1]);
		check(c, s, d);
		snprintf(s, sizeof s, "%s %d%s", MON3[d.m - 1], d.d, suffix(d.d));
		check(c, s, d);
	}
	/* period ends */
	int qm = (c.m - 1) / 3 * 3 + 3;
	struct day fri = add(c, c.wd == 6 || c.wd == 0 ? 7 - (c.wd + 6) % 7 + 4 : 5 - c.wd);
	check(c, "by the end of the week", fri);
	check(c, "EOW", fri);
	check(c, "by the end of next week", add(c, 7 - (c.wd + 6) % 7 + 4));
	check(c, "early next week", add(c, 7 - (c.wd + 6) % 7));
	check(c, "mid next week", add(c, 7 - (c.wd + 6) % 7 + 2));
	check(c, "by the end of the month", last_of(c.y, c.m));
	check(c, "month end", last_of(c.y, c.m));
	check(c, "EOM", last_of(c.y, c.m));
	check(c, "by the end of next month", last_of(c.m == 12 ? c.y + 1 : c.y, c.m % 12 + 1));
	check(c, "by the end of the quarter", last_of(c.y, qm));
	check(c, "by the end of the fiscal quarter", last_of(c.y, qm));
	check(c, "end of the year", last_of(c.y, 12));
	check(c, "by fiscal year end", last_of(c.y, 12));
	for (int q = 1; q <= 4; q++) {
		int y = q * 3 < c.m ? c.y + 1 : c.y;
		snprintf(s, sizeof s, "by the end of Q%d", q);
		check(c, s, last_of(y, q * 3));
		snprintf(s, sizeof s, "by the end of the %s quarter", NTH[q]);
		check(c, s, last_of(y, q * 3));
	}
	for (int m = 1; m <= 12; m++) {
		int y = m < c.m ? c.y + 1 : c.y;
		snprintf(s, sizeof s, "by the end of %s", MON[m - 1]);
		check(c, s, last_of(y, m));
		snprintf(s, sizeof s, "mid-%s", MON[m - 1]);
		check(c, s, (struct day){y, m, 15, 0});
		if (m != 5) {	/* "may" is a verb too */
			snprintf(s, sizeof s, "we can run it in %s", MON[m - 1]);
			check(c, s, last_of(y, m));
			snprintf(s, sizeof s, "we need it by %s", MON[m - 1]);
			check(c, s, (struct day){y, m, 1, 0});
		}
	}
	check(c, "within two business days", add(c, c.wd == 4 ? 4 : c.wd == 5 ? 4 : c.wd == 6 ? 3 : 2));
}

/* Words that look like dates and are not. */
static void not_dates(void)
{
	static const char *const none[] = {
		"we may second that motion", "I have a second question", "it costs 12 dollars",
		"we have 3/12 of the licences", "the sun was out", "in 2027 we grow", "we sat down",
		"a few of them", "for about 2 hours", "one of the ten",
	};
	struct day c = {2026, 3, 2, 1};

	for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
		struct tm tm = {0};
		char got[11], phrase[96];
		tm.tm_year = c.y - 1900, tm.tm_mon = c.m - 1, tm.tm_mday = c.d;
		int f = crm_due_date(none[i], timegm(&tm), got, phrase, sizeof phrase);
		ok(!f, "'%s' is no date%s%s", none[i], f ? ": read as " : "", f ? phrase : "");
	}
}

int main(void)
{
	struct day start = {2026, 3, 2, 1};

	for (int k = 0; k < 14; k++)	/* every weekday, twice */
		forms_on(add(start, k));
	forms_on(add((struct day){2026, 12, 28, 0}, 0));	/* year end */
	forms_on(add((struct day){2027, 2, 25, 0}, 0));	/* a short month */
	forms_on(add((struct day){2026, 9, 30, 0}, 0));	/* quarter end */
	ok(n_ok == n_forms, "%d of %d generated forms give their date", n_ok, n_forms);
	not_dates();
	return done_testing();
}
