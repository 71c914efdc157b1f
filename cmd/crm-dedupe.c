/*
 * crm-dedupe - find duplicate records with calibrated match probabilities.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/db.h"
#include "../lib/linkage.h"
#include "../lib/ndjson.h"
#include "cli.h"

enum { O_ALL = 256, O_FIELDS, O_AUTO, O_REVIEW, O_SEED, O_CAP, O_PAIRS };

static const struct cli_opt opts[] = {
	{ "type", 't', "TYPE", "record type: contact (default) or account" },
	{ "all", O_ALL, NULL, "check every record in the database" },
	{ "fields", O_FIELDS, "LIST", "compared fields, FIELD[:COMPARATOR],... (default: chosen from the data)" },
	{ "auto-merge", O_AUTO, "P", "merge pairs with probability >= P (default 0.98)" },
	{ "review", O_REVIEW, "P", "queue pairs with probability >= P for review (default 0.80)" },
	{ "all-pairs", O_PAIRS, NULL, "write every candidate pair, whatever its probability" },
	{ "seed", O_SEED, "N", "seed of the random pairs u is measured on (default 1)" },
	{ "block-cap", O_CAP, "N", "largest block whose records are all paired (default 64)" },
	{ "dry-run", 'n', NULL, "report, change nothing" },
	{ "quiet", 'q', NULL, "no summary on stderr" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-dedupe", "--all [options]",
	"Find duplicate contacts or accounts by probabilistic matching.",
	opts,
};

static double parse_p(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*end || end == s || errno || v < 0 || v > 1)
		cli_die(CRM_EUSAGE, "--%s: want a probability from 0 to 1, not '%s'", opt, s);
	return v;
}

static void add_fields(struct crm_linkage *lk, const char *spec)
{
	char *list = strdup(spec), *p = list, *tok;
	struct crm_err e = { 0 };

	if (!list)
		cli_die(CRM_ESOFTWARE, "out of memory");
	while ((tok = strsep(&p, ",")) != NULL) {
		char *colon = strrchr(tok, ':');
		int cmp = CRM_CMP_TEXT;

		if (!*tok)
			continue;
		if (colon) {
			*colon = '\0';
			cmp = crm_cmp_parse(colon + 1);
			if (cmp < 0)
				cli_die(CRM_EUSAGE, "--fields: unknown comparator '%s' (want name, text, company, email, phone, id, date or code)", colon + 1);
		}
		if (crm_linkage_add_field(lk, tok, (enum crm_cmp)cmp, &e) < 0)
			cli_die_err(&e);
	}
	free(list);
}

static void write_pair(struct crm_buf *b, const struct crm_linkage *lk,
		       const struct crm_pair *p, uint32_t cluster,
		       const char *action)
{
	crm_buf_adds(b, "{\"type\":\"match\",\"a\":");
	crm_json_str(b, lk->id[p->a], strlen(lk->id[p->a]));
	crm_buf_adds(b, ",\"b\":");
	crm_json_str(b, lk->id[p->b], strlen(lk->id[p->b]));
	crm_buf_addf(b, ",\"probability\":%.6f,\"weight\":%.3f,\"action\":\"%s\",\"group\":",
		     p->p, p->weight, action);
	crm_json_str(b, lk->id[cluster], strlen(lk->id[cluster]));
	crm_buf_adds(b, ",\"fields\":{");
	for (size_t i = 0; i < lk->nf; i++) {
		if (i)
			crm_buf_addc(b, ',');
		crm_json_str(b, lk->f[i].name, strlen(lk->f[i].name));
		crm_buf_addf(b, ":{\"level\":\"%s\",\"weight\":%.3f}",
			     crm_level_name(p->lev[i]),
			     crm_linkage_field_weight(lk, i, p->lev[i]));
	}
	crm_buf_adds(b, "}}\n");
}

int main(int argc, char **argv)
{
	const struct crm_entity *type = crm_entity_find("contact");
	const char *arg, *fields = NULL;
	double automerge = 0.98, review = 0.80;
	uint64_t seed = 1;
	size_t cap = 0;
	int key, all = 0, quiet = 0, allpairs = 0;
	struct crm_linkage lk;
	struct crm_err e = { 0 };
	struct crm_buf out;
	uint32_t *cluster;
	size_t nmerge = 0, nreview = 0, groups = 0;
	double t0;
	sqlite3 *db;

	while ((key = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (key) {
		case 't':
			type = crm_entity_find(arg);
			if (!type || (strcmp(type->kind, "contact") && strcmp(type->kind, "account")))
				cli_die(CRM_EUSAGE, "--type: want contact or account, not '%s'", arg);
			break;
		case O_ALL: all = 1; break;
		case O_FIELDS: fields = arg; break;
		case O_AUTO: automerge = parse_p("auto-merge", arg); break;
		case O_REVIEW: review = parse_p("review", arg); break;
		case O_PAIRS: allpairs = 1; break;
		case O_SEED: seed = strtoull(arg, NULL, 10); break;
		case O_CAP:
			cap = strtoul(arg, NULL, 10);
			if (!cap)
				cli_die(CRM_EUSAGE, "--block-cap: want a positive number, not '%s'", arg);
			break;
		case 'n': break;
		case 'q': quiet = 1; break;
		}
	}
	if (!all)
		cli_die(CRM_EUSAGE, "say --all to check the whole database");
	if (review > automerge)
		cli_die(CRM_EUSAGE, "--review must not be above --auto-merge");
	if (crm_db_open(&db, cli_db, CRM_DB_READONLY, &e) < 0)
		cli_die_err(&e);
	t0 = crm_now();
	crm_linkage_init(&lk, type);
	if (cap)
		lk.block_cap = cap;
	if (fields)
		add_fields(&lk, fields);
	else if (crm_linkage_auto_fields(&lk, db, &e) < 0)
		cli_die_err(&e);
	if (crm_linkage_load(&lk, db, &e) < 0 || crm_linkage_block(&lk, &e) < 0 ||
	    crm_linkage_train(&lk, seed, &e) < 0 ||
	    crm_linkage_cluster(&lk, automerge, 10, &cluster, &e) < 0)
		cli_die_err(&e);
	crm_buf_init(&out, 0);
	for (size_t k = 0; k < lk.npairs; k++) {
		const struct crm_pair *p = &lk.pairs[k];
		const char *action = p->p >= automerge ? "merge" :
				     p->p >= review ? "review" : "distinct";

		if (p->p >= automerge)
			nmerge++;
		else if (p->p >= review)
			nreview++;
		if (!allpairs && p->p < review)
			continue;
		write_pair(&out, &lk, p, cluster[p->a], action);
		if (out.len > 65536) {
			if (cli_write(out.data, out.len) < 0)
				break;
			crm_buf_reset(&out);
		}
	}
	if (out.len)
		cli_write(out.data, out.len);
	for (size_t i = 0; i < lk.n; i++)
		if (cluster[i] == i) {
			/* a group of more than one: some other record points here */
		}
	for (size_t i = 0; i < lk.n; i++)
		if (cluster[i] != i && (i == 0 || 1))
			groups += 0;
	if (!quiet) {
		double all_pairs = (double)lk.n * (double)(lk.n ? lk.n - 1 : 0) / 2;

		fprintf(stderr, "%s: %zu %s", cli_prog, lk.n, type->table);
		if (lk.skipped)
			fprintf(stderr, " (%zu skipped: none of the compared fields)", lk.skipped);
		fprintf(stderr, ", %zu fields, %zu pairs compared (%.4f%% of all %.0f)",
			lk.nf, lk.npairs, all_pairs ? 100.0 * (double)lk.npairs / all_pairs : 0.0,
			all_pairs);
		fprintf(stderr, " by %zu blocking rules", lk.nrules);
		if (lk.dropped_rules)
			fprintf(stderr, " (%zu more dropped: too broad)", lk.dropped_rules);
		if (lk.big_blocks)
			fprintf(stderr, ", %llu blocks over the cap", (unsigned long long)lk.big_blocks);
		fprintf(stderr, "; EM %d iterations, %.4f%% matches among them; %zu pairs >= %.2f, %zu to review; %.2f s\n",
			lk.iterations, 100 * lk.lambda, nmerge, automerge, nreview, crm_now() - t0);
		for (size_t i = 0; i < lk.nf; i++)
			fprintf(stderr, "  %-24s %-8s exact %+6.2f  close %+6.2f  fuzzy %+6.2f  different %+6.2f\n",
				lk.f[i].name, crm_cmp_name(lk.f[i].cmp),
				crm_linkage_field_weight(&lk, i, 1), crm_linkage_field_weight(&lk, i, 2),
				crm_linkage_field_weight(&lk, i, 3), crm_linkage_field_weight(&lk, i, 4));
	}
	(void)groups;
	free(cluster);
	crm_buf_release(&out);
	crm_linkage_release(&lk);
	crm_db_close(db);
	return cli_finish(0);
}
