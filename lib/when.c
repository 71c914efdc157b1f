/*
 * when.c - due dates from what people say (the grammar is in when.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "when.h"

static const char *const WDAY[7] = {"sunday", "monday", "tuesday", "wednesday",
				     "thursday", "friday", "saturday"};
static const char *const WDAY_SHORT[7] = {"sun", "mon", "tue|tues", "wed|weds",
					   "thu|thur|thurs", "fri", "sat"};
static const char *const MONTH[12] = {"january", "february", "march", "april", "may",
				      "june", "july", "august", "september", "october",
				      "november", "december"};
static const char *const MONTH_SHORT[12] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
					    "aug", "sep|sept", "oct", "nov", "dec"};
static const char *const ONES[20] = {"zero", "one", "two", "three", "four", "five", "six",
	"seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
	"sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const TENS[10] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty",
				     "seventy", "eighty", "ninety"};
static const char *const NTH[20] = {"", "first", "second", "third", "fourth", "fifth", "sixth",
	"seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
	"fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth"};

/* The call: its day and its time of day. */
struct now {
	time_t t;
	int y, m, d, wd, min;	/* m 0-11; min: minutes into the day */
};

/* What a phrase says: a day, or a time of day only (clock), and its length. */
struct when {
	int y, m, d;
	int clock;
	size_t len;
};

static const char *W(const struct crm_words *w, size_t i)
{
	return i < w->n ? w->w[i] : "";
}

static int is(const struct crm_words *w, size_t i, const char *alts)
{
	return i < w->n && crm_word_in(w->w[i], alts);
}

static int lookup(const char *x, const char *const *tab, int n)
{
	for (int i = 0; i < n; i++)
		if (tab[i][0] && crm_word_in(x, tab[i]))
			return i;
	return -1;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* A count: "3", "three", "forty eight", "a", "a couple of", "a few", "a dozen". */
static int cardinal(const struct crm_words *w, size_t i, size_t *used)
{
	int v;

	*used = 1;
	if (i >= w->n)
		return -1;
	if (all_digits(w->w[i]) && strlen(w->w[i]) <= 4)
		return atoi(w->w[i]);
	if ((*used = crm_match_at(w, i, "a couple of")) || (*used = crm_match_at(w, i, "couple of")))
		return 2;
	if ((*used = crm_match_at(w, i, "a few")))
		return 3;
	if ((*used = crm_match_at(w, i, "a dozen")))
		return 12;
	*used = 1;
	if (is(w, i, "a|an"))
		return 1;
	if ((v = lookup(w->w[i], ONES, 20)) >= 0)
		return v;
	if ((v = lookup(w->w[i], TENS, 10)) >= 2) {
		int o = i + 1 < w->n ? lookup(w->w[i + 1], ONES, 10) : -1;
		if (o > 0)
			*used = 2, v = v * 10 + o;
		else
			v *= 10;
		return v;
	}
	return -1;
}

/* A day of the month, 1-31: "12", "12th", "twelfth", "twenty first". */
static int ordinal(const struct crm_words *w, size_t i, size_t *used)
{
	const char *s = W(w, i);
	int v;

	*used = 1;
	if (isdigit((unsigned char)*s)) {
		char *end;
		v = (int)strtol(s, &end, 10);
		if (*end && strcmp(end, "st") && strcmp(end, "nd") && strcmp(end, "rd") && strcmp(end, "th"))
			return -1;
		return v >= 1 && v <= 31 ? v : -1;
	}
	if ((v = lookup(s, NTH, 20)) > 0)
		return v;
	if (!strcmp(s, "twentieth"))
		return 20;
	if (!strcmp(s, "thirtieth"))
		return 30;
	if (is(w, i, "twenty|thirty")) {
		int o = lookup(W(w, i + 1), NTH, 10);
		if (o > 0 && (v = (s[1] == 'w' ? 20 : 30) + o) <= 31) {
			*used = 2;
			return v;
		}
	}
	return -1;
}

/* A weekday: full names always, short ones ("thu") where a date is sure. */
static int weekday(const struct crm_words *w, size_t i, int sure)
{
	int v = lookup(W(w, i), WDAY, 7);

	return v >= 0 || !sure ? v : lookup(W(w, i), WDAY_SHORT, 7);
}

/* A month by name; "may" and short forms only with a day number beside them. */
static int month(const struct crm_words *w, size_t i, int sure)
{
	int v = lookup(W(w, i), MONTH, 12);

	if (v == 4 && !sure)
		return -1;
	return v >= 0 || !sure ? v : lookup(W(w, i), MONTH_SHORT, 12);
}

static void ymd(struct when *o, int y, int m, int d)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	timegm(&tm);	/* normalise */
	o->y = tm.tm_year + 1900;
	o->m = tm.tm_mon;
	o->d = tm.tm_mday;
}

static int days_in(int y, int m)
{
	struct when o;

	ymd(&o, y, m + 1, 0);
	return o.d;
}

static int wday_of(int y, int m, int d)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	timegm(&tm);
	return tm.tm_wday;
}

static size_t day(struct when *o, const struct now *n, int plus, size_t len)
{
	ymd(o, n->y, n->m, n->d + plus);
	return o->len = len;
}

/* Days from the call to the next weekday v: 1-7, or 0-6 with today. */
static int to_weekday(const struct now *n, int v, int today)
{
	int off = (v - n->wd + 7) % 7;

	return off == 0 && !today ? 7 : off;
}

/* Days from the call to weekday v of next week (weeks start on Monday). */
static int next_week(const struct now *n, int v)
{
	return 7 - (n->wd + 6) % 7 + (v + 6) % 7;
}

/* Day of the month dd, on or after the call; in month m when m >= 0. */
static void month_day(struct when *o, const struct now *n, int m, int dd)
{
	if (m < 0) {
		int mm = n->m, y = n->y;
		if (dd < n->d)
			mm++;
		while (dd > days_in(y + mm / 12, mm % 12))	/* "the 31st" in a short month */
			mm++;
		ymd(o, y, mm, dd);
		return;
	}
	ymd(o, m < n->m || (m == n->m && dd < n->d) ? n->y + 1 : n->y, m, dd);
}

/* A clock time at i ("2pm", "2 pm", "14:00", "2:30 pm", "two o'clock", "noon"). */
static size_t clock_at(const struct crm_words *w, size_t i, int *minute)
{
	const char *s = W(w, i);
	int h = -1, mi = 0, pm = -1;
	size_t k = 1, used;

	if (is(w, i, "noon|midday|lunchtime")) {
		*minute = 12 * 60;
		return 1;
	}
	if (isdigit((unsigned char)*s)) {
		char *end;
		h = (int)strtol(s, &end, 10);
		if (*end == ':') {
			if (!isdigit((unsigned char)end[1]) || !isdigit((unsigned char)end[2]))
				return 0;
			mi = (int)strtol(end + 1, &end, 10);
			if (mi > 59)
				return 0;
			pm = *end ? -1 : -2;	/* "14:00" is a time on its own */
		}
		if (!strcmp(end, "pm") || !strcmp(end, "p"))
			pm = 1;
		else if (!strcmp(end, "am") || !strcmp(end, "a"))
			pm = 0;
		else if (*end)
			return 0;
	} else if ((h = cardinal(w, i, &used)) >= 1 && h <= 12 && !is(w, i, "a|an")) {
		k = used;
	} else {
		return 0;
	}
	if (pm == -1 && is(w, i + k, "pm|am|p|a") && (w->w[i + k][1] == 'm' || is(w, i + k + 1, "m"))) {
		pm = w->w[i + k][0] == 'p';
		k += w->w[i + k][1] ? 1 : 2;
	} else if (pm == -1 && is(w, i + k, "o'clock|oclock")) {
		k++;
		pm = h >= 1 && h <= 7;	/* "two o'clock" in working hours */
	} else if (pm == -1) {
		return 0;
	}
	if (h < 0 || h > 23 || (pm >= 0 && (h < 1 || h > 12)))
		return 0;
	if (pm == 1 && h < 12)
		h += 12;
	else if (pm == 0 && h == 12)
		h = 0;
	*minute = h * 60 + mi;
	return k;
}

static size_t date_at(const struct crm_words *w, size_t i, const struct now *n, struct when *o);

/* A span from the call: count unit (after "in", "within", "the next"). */
static size_t span_at(const struct crm_words *w, size_t i, const struct now *n, struct when *o)
{
	size_t used;
	int v = cardinal(w, i, &used);
	size_t u = i + used;
	const char *un = W(w, u);

	if (v < 0 && is(w, i, "the")) {	/* "within the hour" */
		v = 1;
		u = i + 1;
		un = W(w, u);
	}
	if (v < 0 || v > 1000)
		return 0;
	if (crm_word_in(un, "minute|minutes|min|mins")) {
		time_t t = n->t + (time_t)v * 60;
		struct tm tm;
		gmtime_r(&t, &tm);
		ymd(o, tm.tm_year + 1900, tm.tm_mon, tm.tm_mday);
		return o->len = u + 1 - i;
	}
	if (crm_word_in(un, "hour|hours|hr|hrs")) {
		int d = (n->min + v * 60) / (24 * 60);
		return day(o, n, d, u + 1 - i);
	}
	if (crm_word_in(un, "business|working") && is(w, u + 1, "day|days")) {
		char due[11];
		crm_workdays_after(n->t, v, due);
		sscanf(due, "%4d-%2d-%2d", &o->y, &o->m, &o->d);
		o->m--;
		return o->len = u + 2 - i;
	}
	if (crm_word_in(un, "day|days"))
		return day(o, n, v, u + 1 - i);
	if (crm_word_in(un, "week|weeks"))
		return day(o, n, 7 * v, u + 1 - i);
	if (crm_word_in(un, "fortnight|fortnights"))
		return day(o, n, 14 * v, u + 1 - i);
	if (crm_word_in(un, "month|months")) {
		ymd(o, n->y, n->m + v, n->d);
		return o->len = u + 1 - i;
	}
	return 0;
}

/* "(a week | two days) from (now | today | tomorrow | Monday)" */
static size_t span_from(const struct crm_words *w, size_t i, const struct now *n, struct when *o)
{
	size_t used, k;
	int v = cardinal(w, i, &used), unit;
	struct when base;

	if (v < 0 || v > 1000)
		return 0;
	k = i + used;
	unit = is(w, k, "day|days") ? 1 : is(w, k, "week|weeks") ? 7 : is(w, k, "fortnight") ? 14 : 0;
	if (!unit || !is(w, k + 1, "from"))
		return 0;
	k += 2;
	if (is(w, k, "now|today")) {
		base.y = n->y, base.m = n->m, base.d = n->d, base.len = 1;
	} else {
		int wd = weekday(w, k, 1);
		if (is(w, k, "tomorrow"))
			ymd(&base, n->y, n->m, n->d + 1), base.len = 1;
		else if (wd >= 0)
			ymd(&base, n->y, n->m, n->d + to_weekday(n, wd, 0)), base.len = 1;
		else
			return 0;
	}
	ymd(o, base.y, base.m, base.d + v * unit);
	return o->len = k + base.len - i;
}

/* The last day of this (or the next) day, week, month, quarter or year. */
static void period(struct when *o, const struct now *n, char unit, int next)
{
	int m;

	switch (unit) {
	case 'd':
		ymd(o, n->y, n->m, n->d + next);
		break;
	case 'w':	/* Friday; at the weekend, the coming one */
		ymd(o, n->y, n->m, n->d + (next || n->wd == 6 || n->wd == 0 ? next_week(n, 5) : 5 - n->wd));
		break;
	case 'm':
		m = n->m + next;
		ymd(o, n->y, m, days_in(n->y + m / 12, m % 12));
		break;
	case 'q':
		m = n->m / 3 * 3 + 2 + 3 * next;
		ymd(o, n->y, m, days_in(n->y + m / 12, m % 12));
		break;
	default:
		ymd(o, n->y + next, 11, 31);
	}
}

/* A period's name at i ("week", "business day", "fiscal year"): its unit and length. */
static size_t period_word(const struct crm_words *w, size_t i, char *unit)
{
	size_t k = i;

	if (is(w, k, "business|working") && is(w, k + 1, "day")) {
		*unit = 'd';
		return 2;
	}
	k += is(w, k, "fiscal|financial|calendar");
	if (!is(w, k, "day|play|week|month|quarter|year"))
		return 0;
	*unit = w->w[k][0] == 'p' ? 'd' : w->w[k][0];
	return k + 1 - i;
}

/* Quarter q (0-3) named: "q3", "the third quarter", "fiscal q2"; its last day. */
static size_t quarter_at(const struct crm_words *w, size_t i, const struct now *n, struct when *o)
{
	size_t k = i;
	int q = -1;
	const char *s;

	if (is(w, k, "the"))
		k++;
	if (is(w, k, "fiscal|financial"))
		k++;
	s = W(w, k);
	if ((s[0] == 'q' || s[0] == 'Q') && s[1] >= '1' && s[1] <= '4' && !s[2])
		q = s[1] - '1', k++;
	else if (is(w, k + 1, "quarter") && (q = lookup(s, NTH, 5) - 1) >= 0)
		k += 2;
	else
		return 0;
	int qm = q * 3 + 2, y = qm < n->m ? n->y + 1 : n->y;
	ymd(o, y, qm, days_in(y, qm));
	return o->len = k - i;
}

/* "march 12", "march the 12th", "12 march", "the 12th of march", "the 12th". */
static size_t month_date(const struct crm_words *w, size_t i, const struct now *n, struct when *o)
{
	size_t used, k;
	int m, dd;

	if ((m = month(w, i, 1)) >= 0) {
		k = i + 1 + is(w, i + 1, "the");
		/* "may": a modal verb too; a date only as "may 3", "may the 3rd" */
		if (m == 4 && k == i + 1 && !isdigit((unsigned char)W(w, k)[0]))
			return 0;
		if ((dd = ordinal(w, k, &used)) <= 0)
			return 0;
		month_day(o, n, m, dd);
		return o->len = k + used - i;
	}
	k = i + is(w, i, "the");
	if ((dd = ordinal(w, k, &used)) <= 0)
		return 0;
	k += used;
	size_t of = is(w, k, "of");
	if ((m = month(w, k + of, 1)) >= 0) {
		month_day(o, n, m, dd);
		return o->len = k + of + 1 - i;
	}
	/* "the 12th", "by the twelfth", "on 12th": the next such day. A bare
	 * number or word ("second") needs "the" or a suffix and a preposition. */
	if (is(w, i, "the") || (isdigit((unsigned char)W(w, i)[0]) && !all_digits(W(w, i)) && i > 0 &&
				is(w, i - 1, "by|on|until|till|before"))) {
		month_day(o, n, -1, dd);
		return o->len = k - i;
	}
	return 0;
}

/* Weekday phrases: "(next|this|coming) fri", "thursday the 12th", "monday week". */
static size_t weekday_at(const struct crm_words *w, size_t i, const struct now *n, struct when *o)
{
	size_t k = i, used;
	int nx = 0, th = 0, v, dd;

	if (is(w, k, "next"))
		nx = 1, k++;
	else if (is(w, k, "this|coming"))
		th = 1, k++;
	int sure = nx || th || (i > 0 && is(w, i - 1, "by|on|until|till|before|from|for|next|this"));
	if ((v = weekday(w, k, 1)) < 0 || (lookup(W(w, k), WDAY, 7) < 0 && !sure &&
					   ordinal(w, k + 1 + is(w, k + 1, "the"), &used) < 0 &&
					   month(w, k + 1, 1) < 0))
		return 0;
	k++;
	/* "Thursday the 12th", "Thu 12th": the number says which Thursday. */
	size_t t = k + is(w, k, "the");
	if ((dd = ordinal(w, t, &used)) > 0 && (t > k || !all_digits(W(w, t)) || !is(w, t + 1, "pm|am|o'clock"))) {
		if (month(w, t + used + is(w, t + used, "of"), 1) >= 0) {
			size_t mk = month_date(w, t, n, o);
			if (mk)
				return o->len = t + mk - i;
		}
		struct when c;
		for (int ahead = 0; ahead < 12; ahead++) {
			int mm = n->m + ahead, y = n->y + mm / 12;
			mm %= 12;
			if (dd > days_in(y, mm) || (ahead == 0 && dd < n->d))
				continue;
			if (wday_of(y, mm, dd) == v) {
				ymd(o, y, mm, dd);
				return o->len = t + used - i;
			}
		}
		month_day(&c, n, -1, dd);
		*o = c;
		return o->len = t + used - i;
	}
	/* "Friday, March 3" */
	if (month(w, k, 1) >= 0) {
		size_t mk = month_date(w, k, n, o);
		if (mk)
			return o->len = k + mk - i;
	}
	if (!nx && !th && is(w, k, "next") && is(w, k + 1, "week"))
		return day(o, n, next_week(n, v), k + 2 - i);
	if (!th && is(w, k, "week"))	/* "Monday week": a week after the next Monday */
		return day(o, n, (nx ? next_week(n, v) : to_weekday(n, v, 0)) + 7, k + 1 - i);
	if (is(w, k, "after") && is(w, k + 1, "next"))
		return day(o, n, to_weekday(n, v, 0) + 7, k + 2 - i);
	k += is(w, k, "morning|afternoon|evening|night|eod");
	return day(o, n, nx ? next_week(n, v) : to_weekday(n, v, th), k - i);
}

/* The date of the phrase starting at w[i]; its length, or 0. */
static size_t date_at(const struct crm_words *w, size_t i, const struct now *n, struct when *o)
{
	size_t k;
	int v;

	memset(o, 0, sizeof *o);
	if (is(w, i, "the") && is(w, i + 1, "day") && is(w, i + 2, "after") && is(w, i + 3, "tomorrow"))
		return day(o, n, 2, 4);
	if ((k = crm_match_at(w, i, "day after tomorrow")))
		return day(o, n, 2, k);
	if ((k = crm_match_at(w, i, "tomorrow")))
		return day(o, n, 1, k + is(w, i + 1, "morning|afternoon|evening|night|eod"));
	/* "first thing (tomorrow)": the next working morning unless a day follows */
	if ((k = crm_match_at(w, i, "first thing"))) {
		struct when d;
		size_t dk = date_at(w, i + k + is(w, i + k, "on|in"), n, &d);
		if (dk && !d.clock) {
			*o = d;
			return o->len = k + is(w, i + k, "on|in") + dk;
		}
		char due[11];
		crm_workdays_after(n->t, 1, due);
		sscanf(due, "%4d-%2d-%2d", &o->y, &o->m, &o->d);
		o->m--;
		return o->len = k;
	}
	if ((k = crm_match_at(w, i, "today|tonight|asap|immediately")) ||
	    (k = crm_match_at(w, i, "close of business|play")) ||
	    (k = crm_match_at(w, i, "this afternoon|morning|evening")) ||
	    (k = crm_match_at(w, i, "later today")) || (k = crm_match_at(w, i, "right|straight away")) ||
	    (k = crm_match_at(w, i, "as soon as possible")) ||
	    (k = crm_match_at(w, i, "after the|this|our call|meeting")))
		return day(o, n, 0, k);
	if ((k = crm_match_at(w, i, "this time next week")))
		return day(o, n, 7, k);
	if ((k = crm_match_at(w, i, "the week after next")))
		return day(o, n, next_week(n, 1) + 7, k);
	/* abbreviations of period ends: end of day, week, month, quarter, year */
	if (is(w, i, "eod|cob|eow|eom|eoq|eoy|fye")) {
		const char *x = W(w, i);
		period(o, n, x[0] == 'f' ? 'y' : x[0] == 'c' ? 'd' : x[2], 0);
		return o->len = 1;
	}
	/* "(the) end of (the|this|next) week|month|quarter|year", "end of September" */
	{
		size_t b = i + is(w, i, "the");
		if (is(w, b, "end|close") && is(w, b + 1, "of")) {
			size_t p = b + 2;
			int nx = 0;
			p += is(w, p, "the|this");
			if (is(w, p, "next"))
				nx = 1, p++;
			char unit;
			if ((k = period_word(w, p, &unit))) {
				period(o, n, unit, nx);
				return o->len = p + k - i;
			}
			if ((v = month(w, p, 1)) >= 0) {
				int y = v < n->m ? n->y + 1 : n->y;
				ymd(o, y, v, days_in(y, v));
				return o->len = p + 1 - i;
			}
			if ((k = quarter_at(w, p, n, o)))
				return o->len = p + k - i;
		}
		/* "month end", "quarter-end", "year end", "week's end" */
		if (is(w, i, "week|month|quarter|year") && is(w, i + 1, "end")) {
			period(o, n, w->w[i][0], 0);
			return o->len = 2;
		}
	}
	/* "mid|middle of|early|beginning of|start of|late (next) week|month, september" */
	{
		size_t p = i;
		int part = -1;	/* 0 early, 1 middle, 2 late */
		if (is(w, p, "early")) part = 0, p++;
		else if ((k = crm_match_at(w, p, "beginning|start of"))) part = 0, p += k;
		else if (is(w, p, "mid")) part = 1, p++;
		else if ((k = crm_match_at(w, p, "middle of"))) part = 1, p += k;
		else if (is(w, p, "late|later")) part = 2, p++;
		if (part >= 0) {
			p += is(w, p, "the");
			if (is(w, p, "next") && is(w, p + 1, "week"))
				return day(o, n, next_week(n, part == 0 ? 1 : part == 1 ? 3 : 5), p + 2 - i);
			if (is(w, p, "this") && is(w, p + 1, "week") && part == 2)
				return day(o, n, n->wd == 6 || n->wd == 0 ? next_week(n, 5) : 5 - n->wd, p + 2 - i);
			int nx = is(w, p, "next") && is(w, p + 1, "month");
			int m = nx ? n->m + 1 : is(w, p, "month") || (is(w, p, "this") && is(w, p + 1, "month")) ? n->m : month(w, p, 1);
			if (m >= 0) {
				size_t len = nx || is(w, p, "this") ? 2 : 1;
				int y = !nx && m < n->m ? n->y + 1 : n->y;
				ymd(o, y, m, part == 0 ? 1 : part == 1 ? 15 : days_in(y + m / 12, m % 12));
				return o->len = p + len - i;
			}
		}
	}
	/* this/next week, month, quarter */
	if ((k = crm_match_at(w, i, "later this week")) || (k = crm_match_at(w, i, "this week")) ||
	    ((k = crm_match_at(w, i, "the weekend")) && i > 0 && is(w, i - 1, "by|before"))) {
		period(o, n, 'w', 0);
		return o->len = k;
	}
	if ((k = crm_match_at(w, i, "after the weekend")))
		return day(o, n, next_week(n, 1), k);
	if ((k = crm_match_at(w, i, "next week")))
		return day(o, n, next_week(n, 1), k);
	if ((k = crm_match_at(w, i, "this month|quarter|year"))) {
		period(o, n, w->w[i + 1][0], 0);
		return o->len = k;
	}
	if ((k = crm_match_at(w, i, "next month"))) {
		ymd(o, n->y, n->m + 1, 1);
		return o->len = k;
	}
	if ((k = crm_match_at(w, i, "next quarter"))) {
		ymd(o, n->y, n->m / 3 * 3 + 3, 1);
		return o->len = k;
	}
	if ((k = quarter_at(w, i, n, o)))
		return k;
	/* spans */
	if (is(w, i, "in|within|inside|over")) {
		size_t p = i + 1;
		if ((k = crm_match_at(w, p, "the next|coming|following")) || (k = crm_match_at(w, p, "next")))
			p += k;
		if ((k = span_at(w, p, n, o)))
			return o->len = p + k - i;
	}
	if ((k = crm_match_at(w, i, "the next|coming|following")) && cardinal(w, i + k, &(size_t){0}) > 1 &&
	    (v = (int)span_at(w, i + k, n, o)))
		return o->len = k + (size_t)v;
	if ((k = span_from(w, i, n, o)))
		return k;
	if ((k = crm_match_at(w, i, "a fortnight")))
		return day(o, n, 14, k);
	/* "in April" is by its end; "by April", "before April" its start. A
	 * month alone, full name, not "may", and no day number after it. */
	if (is(w, i, "in|during|by|before|until|till") && (v = lookup(W(w, i + 1), MONTH, 12)) >= 0 && v != 4 &&
	    ordinal(w, i + 2, &(size_t){0}) < 0) {
		int y = v < n->m ? n->y + 1 : n->y;
		ymd(o, y, v, is(w, i, "in|during") ? days_in(y, v) : 1);
		return o->len = 2;
	}
	if ((k = weekday_at(w, i, n, o)))
		return k;
	if ((k = month_date(w, i, n, o)))
		return k;
	/* 2026-12-01 */
	{
		int yy, mm, dd;
		char tail;
		if (sscanf(W(w, i), "%4d-%2d-%2d%c", &yy, &mm, &dd, &tail) == 3 && mm >= 1 && mm <= 12 &&
		    dd >= 1 && dd <= 31) {
			ymd(o, yy, mm - 1, dd);
			return o->len = 1;
		}
	}
	/* a clock time alone: the call's day, or the next when it is past */
	{
		int minute;
		if ((k = clock_at(w, i, &minute)) && (i == 0 || !is(w, i - 1, "for|about|around"))) {
			day(o, n, minute < n->min, k);	/* a time already past: the next one */
			o->clock = 1;
			return k;
		}
	}
	return 0;
}

static void iso(const struct when *o, char due[11])
{
	struct tm tm = {0};

	tm.tm_year = o->y - 1900;
	tm.tm_mon = o->m;
	tm.tm_mday = o->d;
	strftime(due, 11, "%Y-%m-%d", &tm);
}

static void now_of(time_t t, struct now *n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	n->t = t;
	n->y = tm.tm_year + 1900;
	n->m = tm.tm_mon;
	n->d = tm.tm_mday;
	n->wd = tm.tm_wday;
	n->min = tm.tm_hour * 60 + tm.tm_min;
}

/* Words before a date phrase that belong to it. */
static size_t lead_in(const struct crm_words *w, size_t i)
{
	if (i >= 3 && crm_match_at(w, i - 3, "no later than"))
		return 3;
	if (i >= 1 && is(w, i - 1, "by|on|before|until|till|for|at|due"))
		return 1;
	return 0;
}

int crm_due_in(const struct crm_words *w, time_t t, char due[11], char *phrase, size_t n)
{
	struct now now;
	struct when best = {0}, clk = {0}, x;
	size_t bi = 0, ci = 0;
	int have = 0, have_clock = 0;

	now_of(t, &now);
	for (size_t i = 0; i < w->n && !have; i++) {
		size_t k = date_at(w, i, &now, &x);
		if (!k)
			continue;
		if (x.clock) {
			if (!have_clock)
				clk = x, ci = i, have_clock = 1;
		} else {
			best = x, bi = i, have = 1;
		}
		i += k - 1;
	}
	if (!have && !have_clock)
		return 0;
	if (!have)
		best = clk, bi = ci;
	/* "by 2pm tomorrow", "tomorrow at 2pm": the clock is part of the phrase */
	size_t s = bi, e = bi + best.len;
	if (have && have_clock) {
		if (ci + clk.len == bi || (ci + clk.len + 1 == bi && is(w, ci + clk.len, "on")))
			s = ci;
		else if (ci == e || (ci == e + 1 && is(w, e, "at|by|before")))
			e = ci + clk.len;
	}
	s -= lead_in(w, s);
	if (phrase && n) {
		size_t o = 0;
		phrase[0] = 0;
		for (size_t j = s; j < e && o + 1 < n; j++) {
			int r = snprintf(phrase + o, n - o, "%s%s", j > s ? " " : "", w->w[j]);
			if (r < 0 || (size_t)r >= n - o)
				break;
			o += (size_t)r;
		}
	}
	iso(&best, due);
	return 1;
}

int crm_date_after(const struct crm_words *w, size_t from)
{
	struct now now;
	struct when x;

	now_of(0, &now);
	for (size_t i = from; i < w->n; i++)
		if (date_at(w, i, &now, &x))
			return 1;
	return 0;
}

int crm_due_date(const char *text, time_t t, char due[11], char *phrase, size_t n)
{
	struct crm_words w;

	crm_words_fold(text, strlen(text), &w);
	return crm_due_in(&w, t, due, phrase, n);
}

void crm_workdays_after(time_t t, int n, char due[11])
{
	struct tm tm;
	struct when o;
	int add = 0;

	gmtime_r(&t, &tm);
	for (int wd = tm.tm_wday; n > 0; ) {
		add++;
		wd = (wd + 1) % 7;
		n -= wd != 0 && wd != 6;
	}
	ymd(&o, tm.tm_year + 1900, tm.tm_mon, tm.tm_mday + add);
	iso(&o, due);
}
