/*
 * similarity.c - the comparators crm-dedupe builds match weights from.
 *
 * All of them are the textbook algorithms (Winkler 1990; Damerau 1964 in
 * its optimal-string-alignment form; Taft's NYSIIS, 1970) written for short
 * values: names, emails, postcodes. Buffers are on the stack for values up
 * to 255 bytes; longer values are compared on their first 255.
 */
#include <stdlib.h>
#include <string.h>

#include "similarity.h"
#include "util.h"

#define MAXLEN 255

/* ASCII for the Latin-1 Supplement and Latin Extended-A letters we meet. */
static const char *fold_cp(unsigned cp)
{
	static const char *const latin1[64] = {
		"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e",
		"i", "i", "i", "i", "d", "n", "o", "o", "o", "o", "o", NULL,
		"o", "u", "u", "u", "u", "y", "th", "ss",
		"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e",
		"i", "i", "i", "i", "d", "n", "o", "o", "o", "o", "o", NULL,
		"o", "u", "u", "u", "u", "y", "th", "y",
	};
	/* U+0100..U+017F, by their base letters (generated from NFKD). */
	static const char ext_a[] =
		"aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkklllllll"
		"lllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

	if (cp >= 0xc0 && cp <= 0xff)
		return latin1[cp - 0xc0];
	if (cp >= 0x100 && cp <= 0x17f) {
		static char one[2];

		if (cp - 0x100 < sizeof(ext_a) - 1) {
			one[0] = ext_a[cp - 0x100];
			one[1] = '\0';
			return one;
		}
	}
	return NULL;
}

size_t crm_fold(const char *str, char *out)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t k = 0;
	int space = 0;

	while (*s) {
		unsigned c = *s, cp = 0;
		const char *rep = NULL;

		if (c < 0x80) {
			s++;
			if (c >= 'A' && c <= 'Z')
				c += 32;
			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
				if (space && k)
					out[k++] = ' ';
				space = 0;
				out[k++] = (char)c;
			} else if (c != '\'') {	/* O'Brien is obrien */
				space = 1;
			}
			continue;
		}
		if ((c & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
			cp = ((c & 0x1f) << 6) | (s[1] & 0x3f);
			s += 2;
		} else if ((c & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 &&
			   (s[2] & 0xc0) == 0x80) {
			cp = ((c & 0x0f) << 12) | ((s[1] & 0x3f) << 6) | (s[2] & 0x3f);
			s += 3;
		} else {
			s++;	/* other scripts and bad bytes: a separator */
			space = 1;
			continue;
		}
		rep = fold_cp(cp);
		if (!rep) {
			space = 1;
			continue;
		}
		if (space && k)
			out[k++] = ' ';
		space = 0;
		while (*rep)
			out[k++] = *rep++;
	}
	out[k] = '\0';
	return k;
}

double crm_jaro_winkler(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), win, m = 0, t = 0, k = 0, p = 0;
	unsigned char ma[MAXLEN] = { 0 }, mb[MAXLEN] = { 0 };
	double j;

	if (la > MAXLEN)
		la = MAXLEN;
	if (lb > MAXLEN)
		lb = MAXLEN;
	if (!la && !lb)
		return 1.0;
	if (!la || !lb)
		return 0.0;
	win = (la > lb ? la : lb) / 2;
	win = win ? win - 1 : 0;
	for (size_t i = 0; i < la; i++) {
		size_t lo = i > win ? i - win : 0, hi = i + win + 1 < lb ? i + win + 1 : lb;

		for (size_t x = lo; x < hi; x++) {
			if (mb[x] || a[i] != b[x])
				continue;
			ma[i] = mb[x] = 1;
			m++;
			break;
		}
	}
	if (!m)
		return 0.0;
	for (size_t i = 0; i < la; i++) {
		if (!ma[i])
			continue;
		while (!mb[k])
			k++;
		if (a[i] != b[k])
			t++;
		k++;
	}
	j = ((double)m / (double)la + (double)m / (double)lb +
	     ((double)m - (double)t / 2.0) / (double)m) / 3.0;
	while (p < 4 && p < la && p < lb && a[p] == b[p])
		p++;
	return j + (double)p * 0.1 * (1.0 - j);
}

/* Are a and b at most one edit apart (the common question)? Linear. */
static int within_one(const char *a, const char *b, size_t la, size_t lb)
{
	size_t i = 0;

	if (la == lb) {
		while (i < la && a[i] == b[i])
			i++;
		if (i == la)
			return 1;
		/* one substitution, or two neighbours swapped */
		if (!strcmp(a + i + 1, b + i + 1))
			return 1;
		return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
		       !strcmp(a + i + 2, b + i + 2);
	}
	if (la + 1 == lb)
		return within_one(b, a, lb, la);
	if (la != lb + 1)
		return 0;
	while (i < lb && a[i] == b[i])
		i++;
	return !strcmp(a + i + 1, b + i);	/* one character more in a */
}

int crm_edit_distance(const char *a, const char *b, int max)
{
	int la = (int)strlen(a), lb = (int)strlen(b);
	int rows[3][MAXLEN + 1];
	int *pp = rows[0], *prev = rows[1], *cur = rows[2];

	if (la > MAXLEN)
		la = MAXLEN;
	if (lb > MAXLEN)
		lb = MAXLEN;
	if (abs(la - lb) > max)
		return max + 1;
	if (max == 1 && la < MAXLEN && lb < MAXLEN &&
	    a[la] == '\0' && b[lb] == '\0')
		return !strcmp(a, b) ? 0 : within_one(a, b, (size_t)la, (size_t)lb) ? 1 : 2;
	for (int x = 0; x <= lb; x++)
		prev[x] = x;
	for (int i = 1; i <= la; i++) {
		int best = cur[0] = i;

		for (int x = 1; x <= lb; x++) {
			int cost = a[i - 1] != b[x - 1];
			int v = prev[x - 1] + cost;

			if (prev[x] + 1 < v)
				v = prev[x] + 1;
			if (cur[x - 1] + 1 < v)
				v = cur[x - 1] + 1;
			if (i > 1 && x > 1 && a[i - 1] == b[x - 2] &&
			    a[i - 2] == b[x - 1] && pp[x - 2] + 1 < v)
				v = pp[x - 2] + 1;
			cur[x] = v;
			if (v < best)
				best = v;
		}
		if (best > max)
			return max + 1;
		{
			int *tmp = pp;

			pp = prev;
			prev = cur;
			cur = tmp;
		}
	}
	return prev[lb] > max ? max + 1 : prev[lb];
}

/* Split folded s into up to 32 words, pointers into buf. */
static int words(const char *s, char *buf, const char **w)
{
	int n = 0;
	size_t len = strlen(s);

	if (len > MAXLEN)
		len = MAXLEN;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (char *p = buf; *p && n < 32;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		w[n++] = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

double crm_sim_token_set(const char *a, const char *b)
{
	char ba[MAXLEN + 1], bb[MAXLEN + 1];
	const char *wa[32], *wb[32];
	int na = words(a, ba, wa), nb = words(b, bb, wb), common = 0;

	if (!na || !nb)
		return 0.0;
	for (int i = 0; i < na; i++) {
		int dup = 0;

		for (int k = 0; k < i; k++)
			if (!strcmp(wa[k], wa[i]))
				dup = 1;
		if (dup)
			continue;
		for (int k = 0; k < nb; k++)
			if (!strcmp(wa[i], wb[k])) {
				common++;
				break;
			}
	}
	return (double)common / (double)(na < nb ? na : nb);
}

static int vowel(char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

void crm_nysiis(const char *name, char *out)
{
	char s[MAXLEN + 8], key[MAXLEN + 8];
	size_t n = 0, k = 0;

	for (const char *p = name; *p && n < MAXLEN; p++)
		if (*p >= 'a' && *p <= 'z')
			s[n++] = *p;
		else if (*p >= 'A' && *p <= 'Z')
			s[n++] = (char)(*p + 32);
	s[n] = '\0';
	out[0] = '\0';
	if (!n)
		return;
	/* Prefixes. */
	if (!strncmp(s, "mac", 3)) {
		s[1] = 'c';
	} else if (!strncmp(s, "kn", 2)) {
		s[0] = 'n';
	} else if (s[0] == 'k') {
		s[0] = 'c';
	} else if (!strncmp(s, "ph", 2) || !strncmp(s, "pf", 2)) {
		s[0] = 'f';
		s[1] = 'f';
	} else if (!strncmp(s, "sch", 3)) {
		s[1] = 's';
		s[2] = 's';
	}
	/* Suffixes. */
	if (n >= 2) {
		char *e = s + n - 2;

		if (!strcmp(e, "ee") || !strcmp(e, "ie")) {
			e[0] = 'y';
			e[1] = '\0';
			n--;
		} else if (!strcmp(e, "dt") || !strcmp(e, "rt") || !strcmp(e, "rd") ||
			   !strcmp(e, "nt") || !strcmp(e, "nd")) {
			e[0] = 'd';
			e[1] = '\0';
			n--;
		}
	}
	key[k++] = s[0];
	for (size_t i = 1; i < n; i++) {
		char c = s[i], r[4] = { c, 0, 0, 0 };

		if (c == 'e' && s[i + 1] == 'v') {
			r[0] = 'a';
			r[1] = 'f';
			s[i + 1] = 'f';
		} else if (vowel(c)) {
			r[0] = 'a';
		} else if (c == 'q') {
			r[0] = 'g';
		} else if (c == 'z') {
			r[0] = 's';
		} else if (c == 'm') {
			r[0] = 'n';
		} else if (c == 'k') {
			r[0] = s[i + 1] == 'n' ? 'n' : 'c';
		} else if (c == 's' && s[i + 1] == 'c' && s[i + 2] == 'h') {
			r[0] = 's';
			s[i + 1] = 's';
			s[i + 2] = 's';
		} else if (c == 'p' && s[i + 1] == 'h') {
			r[0] = 'f';
			s[i + 1] = 'f';
		} else if (c == 'h' && (!vowel(s[i - 1]) || (i + 1 < n && !vowel(s[i + 1])) || i + 1 == n)) {
			r[0] = s[i - 1];
		} else if (c == 'w' && vowel(s[i - 1])) {
			r[0] = s[i - 1];
		}
		s[i] = r[0];
		for (int x = 0; r[x]; x++)
			if (key[k - 1] != r[x])
				key[k++] = r[x];
	}
	if (k > 1 && key[k - 1] == 's')
		k--;
	if (k > 2 && key[k - 2] == 'a' && key[k - 1] == 'y') {
		key[k - 2] = 'y';
		k--;
	}
	if (k > 1 && key[k - 1] == 'a')
		k--;
	if (k > 8)
		k = 8;
	memcpy(out, key, k);
	out[k] = '\0';
	for (size_t i = 0; i < k; i++)
		out[i] = (char)(out[i] - 32);
}

const char *crm_nickname(const char *name)
{
	/* Common English nicknames: "nick formal". Sorted by nick. */
	static const char *const nick[][2] = {
		{ "abby", "abigail" }, { "al", "albert" }, { "alex", "alexander" },
		{ "andy", "andrew" }, { "beth", "elizabeth" }, { "betsy", "elizabeth" },
		{ "betty", "elizabeth" }, { "bill", "william" }, { "billy", "william" },
		{ "bob", "robert" }, { "bobby", "robert" }, { "cathy", "catherine" },
		{ "charlie", "charles" }, { "chris", "christopher" }, { "chuck", "charles" },
		{ "dan", "daniel" }, { "danny", "daniel" }, { "dave", "david" },
		{ "debbie", "deborah" }, { "dick", "richard" }, { "don", "donald" },
		{ "ed", "edward" }, { "eddie", "edward" }, { "fred", "frederick" },
		{ "greg", "gregory" }, { "jack", "john" }, { "jake", "jacob" },
		{ "jim", "james" }, { "jimmy", "james" }, { "joe", "joseph" },
		{ "johnny", "john" }, { "jon", "jonathan" }, { "josh", "joshua" },
		{ "kate", "katherine" }, { "kathy", "katherine" }, { "katie", "katherine" },
		{ "ken", "kenneth" }, { "kim", "kimberly" }, { "larry", "lawrence" },
		{ "liz", "elizabeth" }, { "maggie", "margaret" }, { "matt", "matthew" },
		{ "meg", "margaret" }, { "mike", "michael" }, { "nate", "nathan" },
		{ "nick", "nicholas" }, { "pam", "pamela" }, { "pat", "patricia" },
		{ "peggy", "margaret" }, { "pete", "peter" }, { "phil", "philip" },
		{ "rick", "richard" }, { "rob", "robert" }, { "ron", "ronald" },
		{ "sam", "samuel" }, { "sandy", "sandra" }, { "steve", "stephen" },
		{ "sue", "susan" }, { "susie", "susan" }, { "ted", "edward" },
		{ "terry", "terence" }, { "tim", "timothy" }, { "tom", "thomas" },
		{ "tommy", "thomas" }, { "tony", "anthony" }, { "vicky", "victoria" },
		{ "will", "william" },
	};
	size_t lo = 0, hi = sizeof(nick) / sizeof(nick[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, nick[mid][0]);

		if (!c)
			return nick[mid][1];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return name;
}

void crm_sim_key_email(const char *s, char *out)
{
	const char *at;
	size_t k = 0;
	int gmail;

	while (*s == ' ')
		s++;
	at = strchr(s, '@');
	if (!at || at == s) {
		out[0] = '\0';
		return;
	}
	gmail = !strcasecmp(at + 1, "gmail.com") || !strcasecmp(at + 1, "googlemail.com");
	for (const char *p = s; p < at; p++) {
		char c = *p;

		if (c == '+')
			break;
		if (gmail && c == '.')
			continue;
		out[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	if (gmail) {
		memcpy(out + k, "@gmail.com", 11);
		return;
	}
	for (const char *p = at; *p && *p != ' '; p++)
		out[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	out[k] = '\0';
}

void crm_sim_key_phone(const char *s, char *out)
{
	char d[64];
	size_t n = 0;

	for (; *s && n < sizeof(d) - 1; s++) {
		if (*s >= '0' && *s <= '9')
			d[n++] = *s;
		else if ((*s == 'x' || *s == 'X' || *s == ';') && n >= 6)
			break;	/* an extension follows */
	}
	if (n < 6) {
		out[0] = '\0';
		return;
	}
	if (n > 9) {
		memmove(d, d + n - 9, 9);
		n = 9;
	}
	memcpy(out, d, n);
	out[n] = '\0';
}

/*
 * Fold s into out word by word, each word found in map[i][0] replaced by
 * map[i][1] (NULL: dropped).
 */
static void map_words(const char *s, char *out, const char *const (*map)[2], size_t nmap)
{
	char *buf = malloc(2 * strlen(s) + 1);
	size_t k = 0;

	out[0] = '\0';
	if (!buf)
		return;
	crm_fold(s, buf);
	for (char *w = buf; *w;) {
		size_t len = strcspn(w, " ");
		const char *put = w;
		size_t plen = len;

		for (size_t i = 0; i < nmap; i++)
			if (strlen(map[i][0]) == len && !strncmp(w, map[i][0], len)) {
				put = map[i][1];
				plen = put ? strlen(put) : 0;
				break;
			}
		if (put) {
			if (k)
				out[k++] = ' ';
			memcpy(out + k, put, plen);
			k += plen;
		}
		w += len;
		while (*w == ' ')
			w++;
	}
	out[k] = '\0';
	free(buf);
}

void crm_sim_key_company(const char *s, char *out)
{
	static const char *const legal[][2] = {
		{ "inc", NULL }, { "incorporated", NULL }, { "ltd", NULL }, { "limited", NULL },
		{ "llc", NULL }, { "llp", NULL }, { "lp", NULL }, { "gmbh", NULL }, { "ag", NULL },
		{ "kg", NULL }, { "corp", NULL }, { "corporation", NULL }, { "co", NULL },
		{ "company", NULL }, { "sa", NULL }, { "sas", NULL }, { "sarl", NULL },
		{ "srl", NULL }, { "spa", NULL }, { "bv", NULL }, { "nv", NULL }, { "plc", NULL },
		{ "pty", NULL }, { "pte", NULL }, { "oy", NULL }, { "ab", NULL }, { "as", NULL },
		{ "aps", NULL }, { "kk", NULL }, { "the", NULL },
	};

	map_words(s, out, legal, sizeof(legal) / sizeof(legal[0]));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int crm_email_personal(const char *key)
{
	static const char *const free_mail[] = {	/* sorted */
		"126.com", "163.com", "aol.com", "att.net", "btinternet.com",
		"comcast.net", "fastmail.com", "free.fr", "gmail.com", "gmx.com",
		"gmx.de", "gmx.net", "hotmail.co.uk", "hotmail.com", "hotmail.fr",
		"icloud.com", "laposte.net", "libero.it", "live.com", "mac.com",
		"mail.com", "mail.ru", "me.com", "msn.com", "naver.com",
		"orange.fr", "outlook.com", "proton.me", "protonmail.com", "qq.com",
		"t-online.de", "verizon.net", "web.de", "yahoo.co.uk", "yahoo.com",
		"yahoo.fr", "yandex.com", "yandex.ru", "ymail.com", "zoho.com",
	};
	const char *at = strchr(key, '@'), *domain;

	if (!at)
		return 0;
	domain = at + 1;
	return bsearch(&domain, free_mail, sizeof(free_mail) / sizeof(free_mail[0]),
		       sizeof(free_mail[0]), cmp_str) != NULL;
}

void crm_sim_key_address(const char *s, char *out)
{
	static const char *const abbr[][2] = {
		{ "street", "st" }, { "str", "st" }, { "avenue", "ave" }, { "av", "ave" },
		{ "boulevard", "blvd" }, { "blv", "blvd" }, { "bd", "blvd" },
		{ "road", "rd" }, { "drive", "dr" }, { "lane", "ln" },
		{ "place", "pl" }, { "court", "ct" }, { "square", "sq" },
		{ "highway", "hwy" }, { "parkway", "pkwy" }, { "terrace", "ter" },
		{ "circle", "cir" }, { "suite", "ste" }, { "apartment", "apt" },
		{ "unit", "apt" }, { "floor", "fl" }, { "building", "bldg" },
		{ "north", "n" }, { "south", "s" }, { "east", "e" }, { "west", "w" },
		{ "northeast", "ne" }, { "northwest", "nw" }, { "southeast", "se" },
		{ "southwest", "sw" }, { "first", "1st" }, { "second", "2nd" },
		{ "third", "3rd" }, { "fourth", "4th" }, { "fifth", "5th" },
		{ "and", NULL },
	};

	map_words(s, out, abbr, sizeof(abbr) / sizeof(abbr[0]));
}
