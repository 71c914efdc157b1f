/*
 * lm.c - trigram ARPA model from sentences: count, discount, back off.
 *
 * Every n-gram occurrence is packed into a 64-bit key (21 bits per word),
 * the keys are sorted, and runs are counts. Absolute discounting with
 * D = n1 / (n1 + 2 n2) per order (Ney's estimate); the mass taken from the
 * seen continuations of a history goes to the lower order through a Katz
 * back-off weight, so the model is a proper ARPA back-off model.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

#define WBITS 21
#define WMASK ((UINT64_C(1) << WBITS) - 1)
#define MAXW ((1u << WBITS) - 1)
enum { BOS = 0, EOS = 1 };

struct vocab {
	char **word;
	uint64_t *cnt;
	size_t n, alloc;
	uint32_t *slot;		/* open addressing: id + 1, 0 = empty */
	size_t nslot;
};

static int vocab_grow(struct vocab *v)
{
	size_t ns = v->nslot ? v->nslot * 2 : 1024;
	uint32_t *s = calloc(ns, sizeof *s);

	if (!s)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		size_t j = crm_strhash(v->word[i]) & (ns - 1);
		while (s[j])
			j = (j + 1) & (ns - 1);
		s[j] = (uint32_t)i + 1;
	}
	free(v->slot);
	v->slot = s;
	v->nslot = ns;
	return 0;
}

/* Id of word w, added if new; -1 when out of memory or the vocabulary is full. */
static long vocab_id(struct vocab *v, const char *w)
{
	size_t j;

	if ((v->n + 1) * 2 > v->nslot && vocab_grow(v) < 0)
		return -1;
	j = crm_strhash(w) & (v->nslot - 1);
	for (; v->slot[j]; j = (j + 1) & (v->nslot - 1))
		if (!strcmp(v->word[v->slot[j] - 1], w))
			return (long)v->slot[j] - 1;
	if (v->n >= MAXW)
		return -1;
	if (v->n == v->alloc) {
		size_t na = v->alloc ? v->alloc * 2 : 256;
		char **nw = realloc(v->word, na * sizeof *nw);
		if (!nw)
			return -1;
		v->word = nw;
		uint64_t *nc = realloc(v->cnt, na * sizeof *nc);
		if (!nc)
			return -1;
		v->cnt = nc;
		v->alloc = na;
	}
	if (!(v->word[v->n] = strdup(w)))
		return -1;
	v->cnt[v->n] = 0;
	v->slot[j] = (uint32_t)v->n + 1;
	return (long)v->n++;
}

static void vocab_free(struct vocab *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->word[i]);
	free(v->word);
	free(v->cnt);
	free(v->slot);
}

struct keys {
	uint64_t *k;
	size_t n, alloc;
};

static int keys_add(struct keys *a, uint64_t k)
{
	if (a->n == a->alloc) {
		size_t na = a->alloc ? a->alloc * 2 : 4096;
		uint64_t *nk = realloc(a->k, na * sizeof *nk);
		if (!nk)
			return -1;
		a->k = nk;
		a->alloc = na;
	}
	a->k[a->n++] = k;
	return 0;
}

static int cmpu64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sort and fold runs: keys become unique, cnt[i] their counts. */
static int keys_count(struct keys *a, uint32_t **cnt)
{
	size_t m = 0;

	if (a->n)
		qsort(a->k, a->n, sizeof *a->k, cmpu64);
	*cnt = malloc((a->n ? a->n : 1) * sizeof **cnt);
	if (!*cnt)
		return -1;
	for (size_t i = 0; i < a->n; ) {
		size_t j = i;
		while (j < a->n && a->k[j] == a->k[i])
			j++;
		a->k[m] = a->k[i];
		(*cnt)[m++] = (uint32_t)(j - i);
		i = j;
	}
	a->n = m;
	return 0;
}

static double discount(const uint32_t *cnt, size_t n)
{
	double n1 = 0, n2 = 0, d;

	for (size_t i = 0; i < n; i++)
		n1 += cnt[i] == 1, n2 += cnt[i] == 2;
	d = n1 + 2 * n2 > 0 ? n1 / (n1 + 2 * n2) : 0.5;
	return d < 0.1 ? 0.1 : d > 0.9 ? 0.9 : d;
}

static size_t find(const struct keys *a, uint64_t k)
{
	size_t lo = 0, hi = a->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->k[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static double lg(double p)
{
	return p > 0 ? log10(p) : -99;
}

struct model {
	struct vocab v;
	struct keys b, t;		/* bigram and trigram keys */
	uint32_t *bc, *tc;		/* their counts */
	double *p1, *bo1;		/* per word */
	double *p2, *bo2;		/* per bigram */
	double *p3;			/* per trigram */
};

static int tokenize(struct model *m, const char *text, size_t n,
		    int (*keep)(const char *, void *), void *arg)
{
	char w[64];
	long seq[256];
	size_t ns = 0, wl = 0;
	int skip = 0;

	for (size_t i = 0; i <= n; i++) {
		int c = i < n ? (unsigned char)text[i] : '\n';
		if (isalnum(c) || c == '\'') {
			if (wl + 1 < sizeof w)
				w[wl++] = (char)tolower(c);
			else
				skip = 1;
			continue;
		}
		if (wl) {
			long id = -2;
			w[wl] = 0;
			wl = 0;
			if (!skip && (!keep || keep(w, arg)) &&
			    (id = vocab_id(&m->v, w)) < 0)
				return -1;
			skip = 0;
			if (ns < sizeof seq / sizeof *seq - 1)
				seq[ns++] = id;
		}
		if (c != '\n' && c != '.' && c != '?' && c != '!')
			continue;
		if (!ns)
			continue;
		/* <s> w1 ... wn </s>, n-grams only over kept words. */
		long full[258];
		size_t nf = 0;
		full[nf++] = BOS;
		for (size_t k = 0; k < ns; k++)
			full[nf++] = seq[k];
		full[nf++] = EOS;
		ns = 0;
		for (size_t k = 0; k < nf; k++) {
			if (full[k] < 0)
				continue;
			if (full[k] != BOS)
				m->v.cnt[full[k]]++;
			if (k >= 1 && full[k - 1] >= 0 &&
			    keys_add(&m->b, (uint64_t)full[k - 1] << WBITS | (uint64_t)full[k]) < 0)
				return -1;
			if (k >= 2 && full[k - 1] >= 0 && full[k - 2] >= 0 &&
			    keys_add(&m->t, (uint64_t)full[k - 2] << 2 * WBITS |
				     (uint64_t)full[k - 1] << WBITS | (uint64_t)full[k]) < 0)
				return -1;
		}
	}
	return 0;
}

/*
 * Probabilities of one order from its sorted counts: per history (the key
 * without its last word), discounted relative frequencies, and the back-off
 * weight that gives the held-back mass to lower(key) of the unseen words.
 */
static void estimate(const struct keys *a, const uint32_t *cnt, double d,
		     double *p, double (*lower)(const struct model *, uint64_t),
		     const struct model *m, void (*setbo)(struct model *, uint64_t, double))
{
	for (size_t i = 0; i < a->n; ) {
		uint64_t h = a->k[i] >> WBITS;
		size_t j = i;
		double tot = 0, seen = 0, kinds = 0;
		for (; j < a->n && a->k[j] >> WBITS == h; j++)
			tot += cnt[j], kinds++;
		for (size_t k = i; k < j; k++) {
			p[k] = (cnt[k] - d) / tot;
			seen += lower(m, a->k[k]);
		}
		double left = d * kinds / tot;
		setbo((struct model *)m, h, seen < 1 ? left / (1 - seen) : 1);
		i = j;
	}
}

static double lower2(const struct model *m, uint64_t k)
{
	return m->p1[k & WMASK];
}

static double lower3(const struct model *m, uint64_t k)
{
	uint64_t b = k & ((UINT64_C(1) << 2 * WBITS) - 1);
	size_t i = find(&m->b, b);

	/* Every seen trigram's tail is a seen bigram. */
	return i < m->b.n && m->b.k[i] == b ? m->p2[i] : 0;
}

static void setbo1(struct model *m, uint64_t h, double bo)
{
	m->bo1[h] = bo;
}

static void setbo2(struct model *m, uint64_t h, double bo)
{
	size_t i = find(&m->b, h);

	if (i < m->b.n && m->b.k[i] == h)
		m->bo2[i] = bo;
}

static void model_free(struct model *m)
{
	vocab_free(&m->v);
	free(m->b.k);
	free(m->t.k);
	free(m->bc);
	free(m->tc);
	free(m->p1);
	free(m->bo1);
	free(m->p2);
	free(m->bo2);
	free(m->p3);
}

static int write_arpa(const struct model *m, struct crm_buf *out)
{
	const struct vocab *v = &m->v;
	int rc = 0;

	rc |= crm_buf_addf(out, "\\data\\\nngram 1=%zu\nngram 2=%zu\nngram 3=%zu\n\n\\1-grams:\n",
			   v->n, m->b.n, m->t.n);
	for (size_t i = 0; i < v->n; i++)
		rc |= crm_buf_addf(out, "%.4f %s %.4f\n", i == BOS ? -99 : lg(m->p1[i]),
				   v->word[i], lg(m->bo1[i]));
	rc |= crm_buf_adds(out, "\n\\2-grams:\n");
	for (size_t i = 0; i < m->b.n; i++)
		rc |= crm_buf_addf(out, "%.4f %s %s %.4f\n", lg(m->p2[i]),
				   v->word[m->b.k[i] >> WBITS], v->word[m->b.k[i] & WMASK],
				   lg(m->bo2[i]));
	rc |= crm_buf_adds(out, "\n\\3-grams:\n");
	for (size_t i = 0; i < m->t.n; i++)
		rc |= crm_buf_addf(out, "%.4f %s %s %s\n", lg(m->p3[i]),
				   v->word[m->t.k[i] >> 2 * WBITS],
				   v->word[m->t.k[i] >> WBITS & WMASK],
				   v->word[m->t.k[i] & WMASK]);
	rc |= crm_buf_adds(out, "\n\\end\\\n");
	return rc ? -1 : 0;
}

int crm_lm_arpa(const char *text, size_t n, int (*keep)(const char *, void *),
		void *arg, struct crm_buf *out, struct crm_err *e)
{
	struct model m = {0};
	double tot = 0, d1;
	int rc = -1;

	if (vocab_id(&m.v, "<s>") != BOS || vocab_id(&m.v, "</s>") != EOS ||
	    tokenize(&m, text, n, keep, arg) < 0)
		goto oom;
	if (m.v.n <= 2) {
		crm_err_set(e, CRM_EDATA, "no words to build a language model from");
		goto done;
	}
	if (keys_count(&m.b, &m.bc) < 0 || keys_count(&m.t, &m.tc) < 0)
		goto oom;
	m.p1 = calloc(m.v.n, sizeof *m.p1);
	m.bo1 = calloc(m.v.n, sizeof *m.bo1);
	m.p2 = calloc(m.b.n + 1, sizeof *m.p2);
	m.bo2 = calloc(m.b.n + 1, sizeof *m.bo2);
	m.p3 = calloc(m.t.n + 1, sizeof *m.p3);
	if (!m.p1 || !m.bo1 || !m.p2 || !m.bo2 || !m.p3)
		goto oom;
	/* Unigrams: a little mass to every word, so none is impossible. */
	for (size_t i = 1; i < m.v.n; i++)
		tot += (double)m.v.cnt[i];
	d1 = 0.5;
	for (size_t i = 1; i < m.v.n; i++)
		m.p1[i] = ((double)m.v.cnt[i] + d1) / (tot + d1 * (double)(m.v.n - 1));
	for (size_t i = 0; i < m.v.n; i++)
		m.bo1[i] = 1;
	for (size_t i = 0; i < m.b.n; i++)
		m.bo2[i] = 1;
	estimate(&m.b, m.bc, discount(m.bc, m.b.n), m.p2, lower2, &m, setbo1);
	estimate(&m.t, m.tc, discount(m.tc, m.t.n), m.p3, lower3, &m, setbo2);
	if (write_arpa(&m, out) < 0)
		goto oom;
	rc = 0;
	goto done;
oom:
	crm_err_set(e, CRM_ESOFTWARE, "out of memory building a language model");
done:
	model_free(&m);
	return rc;
}
