/* Unit tests for lib/linkage: blocking, EM and clustering on made-up people. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/crypt.h"
#include "../../lib/linkage.h"
#include "../../lib/store/store.h"
#include "tap.h"

static const char *const first[] = { "anna", "ben", "carla", "dmitri", "elena",
	"farid", "greta", "hugo", "ines", "jonas", "kira", "lars", "mona", "nils" };
static const char *const last[] = { "adler", "brandt", "castro", "dorn", "eberl",
	"fuchs", "gomez", "haas", "ivanov", "jung", "keller", "lang", "moser",
	"neumann", "ortiz", "pohl", "quast", "roth", "sauer", "tamm" };

/*
 * One doubtful link does not join two groups: A and B are sure, B and C
 * are sure, but A and C carry two mailboxes at one domain, and the group
 * stays {A, B}, its weakest link shown.
 */
static void weakest_link(void)
{
	struct crm_linkage lk;
	struct crm_err e = { 0 };
	const char *a[] = { "Sam Lee", "sam.lee@x.example.com" };
	const char *b[] = { "Sam Lee", NULL };
	const char *c[] = { "Sam Lee", "sam.li@x.example.com" };
	uint32_t *cluster = NULL;
	float *weakest = NULL;

	crm_linkage_init(&lk, crm_entity_find("contact"));
	crm_linkage_add_field(&lk, "first_name", CRM_CMP_NAME, &e);
	crm_linkage_add_field(&lk, "email", CRM_CMP_EMAIL, &e);
	crm_linkage_add_record(&lk, "A", a, &e);
	crm_linkage_add_record(&lk, "B", b, &e);
	crm_linkage_add_record(&lk, "C", c, &e);
	lk.n_db = lk.n;
	lk.f[0].w[CRM_LV_EXACT] = 20;
	lk.f[1].w[CRM_LV_EXACT] = 10;
	lk.f[1].w[CRM_LV_DIFF] = -30;
	lk.lambda = 1.0 / 1024;
	lk.pairs = calloc(2, sizeof(*lk.pairs));
	lk.npairs = 2;
	lk.pairs[0] = (struct crm_pair){ .a = 0, .b = 1, .lev = { CRM_LV_EXACT }, .weight = 20, .p = 0.999f };
	lk.pairs[1] = (struct crm_pair){ .a = 1, .b = 2, .lev = { CRM_LV_EXACT }, .weight = 20, .p = 0.998f };
	ok(crm_linkage_cluster(&lk, 0.98, 0.8, 10, &cluster, &weakest, &e) == 0, "cluster a chain");
	ok(cluster[1] == 0 && cluster[2] == 2,
	   "A and B one group, C apart: A and C disagree (%u %u %u)", cluster[0], cluster[1], cluster[2]);
	ok(fabs(weakest[0] - 0.999) < 1e-6 && weakest[2] == 1, "the group's weakest link (%g)", weakest[0]);
	free(cluster);
	free(weakest);
	crm_linkage_release(&lk);
}

/*
 * Levels of agreement where copies are made by hand: a name in the other
 * field, whose own field is empty; a letter put before a place name.
 * Two people whose names only cross once are not one.
 */
static void levels(void)
{
	struct crm_linkage lk;
	struct crm_err e = { 0 };
	const char *r[][3] = {
		{ "Imogen", NULL, "London" },		/* 0 */
		{ "Wilkinson", "Imogen", "nLondon" },	/* 1 */
		{ "James", "Reuben", "London" },	/* 2 */
		{ "Reuben", "Smith", "Leeds" },		/* 3 */
		{ "Reuben", NULL, "Loodon" },		/* 4 */
		{ "Imgeen", NULL, NULL },		/* 5 */
	};
	uint8_t lev[CRM_LINK_MAXF];

	crm_linkage_init(&lk, crm_entity_find("contact"));
	crm_linkage_add_field(&lk, "first_name", CRM_CMP_NAME, &e);
	crm_linkage_add_field(&lk, "last_name", CRM_CMP_NAME, &e);
	crm_linkage_add_field(&lk, "city", CRM_CMP_TEXT, &e);
	for (size_t i = 0; i < sizeof(r) / sizeof(*r); i++)
		crm_linkage_add_record(&lk, "x", r[i], &e);
	crm_linkage_compare(&lk, 0, 1, lev);
	ok(lev[0] == CRM_LV_CLOSE && lev[1] == CRM_LV_MISSING,
	   "a first name given as the other's last name, its own last name empty: close (%d %d)",
	   lev[0], lev[1]);
	ok(lev[2] == CRM_LV_CLOSE, "a letter put before a place name: close (%d)", lev[2]);
	crm_linkage_compare(&lk, 2, 4, lev);
	ok(lev[0] == CRM_LV_CLOSE, "either way round (%d)", lev[0]);
	ok(lev[2] == CRM_LV_CLOSE, "one letter wrong in a place (%d)", lev[2]);
	crm_linkage_compare(&lk, 5, 1, lev);
	ok(lev[0] == CRM_LV_FUZZY, "a typo in the moved name: as far as the two are (%d)", lev[0]);
	crm_linkage_compare(&lk, 2, 3, lev);
	ok(lev[0] == CRM_LV_DIFF && lev[1] == CRM_LV_DIFF,
	   "a name that crosses once, the other pair different: different (%d %d)", lev[0], lev[1]);
	crm_linkage_release(&lk);
}

/* Dates: one slip, a swap, within a year (across New Year too), or not. */
static void dates(void)
{
	struct crm_linkage lk;
	struct crm_err e = { 0 };
	const char *r[][1] = {
		{ "1991-04-05" }, { "1991-05-06" },	/* same year, two digits */
		{ "1991-12-30" }, { "1992-01-02" },	/* four days, two years */
		{ "1974-10-05" }, { "1984-10-03" },	/* ten years */
		{ "1976-09-15" }, { "1977-10-17" },	/* a year and a month */
		{ "1971-06-24" }, { "1971-05-24" },	/* one digit */
	};
	const int want[] = { CRM_LV_FUZZY, CRM_LV_FUZZY, CRM_LV_DIFF, CRM_LV_DIFF, CRM_LV_CLOSE };
	uint8_t lev[CRM_LINK_MAXF];

	crm_linkage_init(&lk, crm_entity_find("contact"));
	crm_linkage_add_field(&lk, "attrs.born", CRM_CMP_DATE, &e);
	for (size_t i = 0; i < sizeof(r) / sizeof(*r); i++)
		crm_linkage_add_record(&lk, "x", r[i], &e);
	for (uint32_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		crm_linkage_compare(&lk, 2 * i, 2 * i + 1, lev);
		ok(lev[0] == want[i], "dates %s and %s: level %d (want %d)",
		   r[2 * i][0], r[2 * i + 1][0], lev[0], want[i]);
	}
	crm_linkage_release(&lk);
}

int main(void)
{
	char path[64], sql[512];
	struct crm_err e = { 0 };
	struct crm_linkage lk;
	struct crm_store *db;
	uint32_t *cluster;
	int dup_hi = 0, dup_n = 0, other_hi = 0, other_n = 0;
	unsigned seed = 12345;

	snprintf(path, sizeof(path), "/tmp/crm-linkage-%d.db", (int)getpid());
	unlink(path);
	if (crm_store_open(&db, path, CRM_STORE_CREATE, &e) < 0) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}
	crm_store_begin(db, &e);
	/* 600 people; every 10th has a copy with a typo in the surname. */
	for (int i = 0; i < 600; i++) {
		const char *f = first[rand_r(&seed) % 14], *l = last[rand_r(&seed) % 20];
		int y = 1950 + (int)(rand_r(&seed) % 50), m = 1 + (int)(rand_r(&seed) % 12);

		for (int copy = 0; copy < (i % 10 == 0 ? 2 : 1); copy++) {
			char lname[32];

			snprintf(lname, sizeof(lname), "%s", l);
			if (copy)
				lname[2] = lname[2] == 'x' ? 'y' : 'x';
			snprintf(sql, sizeof(sql),
				 "INSERT INTO contacts (id, source, src_key, first_name, last_name, email, attrs, created_at, updated_at) "
				 "VALUES ('c_%04d%d', 't', 'k%d_%d', '%s', '%s', '%s.%s%d@x.example.com', "
				 "json_object('born', '%d-%02d-15'), 't', 't')",
				 i, copy, i, copy, f, lname, f, l, i, y, m);
			if (crm_store_exec(db, sql, &e) < 0) {
				printf("Bail out! %s\n", e.msg);
				return 1;
			}
		}
	}
	crm_store_commit(db, &e);

	crm_linkage_init(&lk, crm_entity_find("contact"));
	ok(crm_linkage_add_field(&lk, "first_name", CRM_CMP_NAME, &e) == 0 &&
	   crm_linkage_add_field(&lk, "last_name", CRM_CMP_NAME, &e) == 0 &&
	   crm_linkage_add_field(&lk, "email", CRM_CMP_EMAIL, &e) == 0 &&
	   crm_linkage_add_field(&lk, "attrs.born", CRM_CMP_DATE, &e) == 0, "fields");
	ok(crm_linkage_add_field(&lk, "nosuch", CRM_CMP_TEXT, &e) < 0 && e.code == CRM_EUSAGE,
	   "unknown field refused");
	ok(crm_linkage_load(&lk, db, &e) == 0, "load");
	is_int(lk.n, 660, "660 records");
	ok(crm_linkage_block(&lk, &e) == 0, "block");
	ok(lk.npairs > 0 && lk.npairs < 660 * 659 / 2 / 10,
	   "blocking keeps candidates a small fraction of all pairs (%zu)", lk.npairs);
	ok(crm_linkage_train(&lk, 1, &e) == 0, "train");
	ok(lk.f[0].m[CRM_LV_EXACT] > lk.f[0].u[CRM_LV_EXACT] * 5,
	   "EM: an exact first name is far likelier among matches (m %.3f, u %.3f)",
	   lk.f[0].m[CRM_LV_EXACT], lk.f[0].u[CRM_LV_EXACT]);
	ok(lk.f[1].m[CRM_LV_CLOSE] > lk.f[1].u[CRM_LV_CLOSE] * 5,
	   "EM learned that the copies' surnames are close, not exact (m %.3f, u %.3f)",
	   lk.f[1].m[CRM_LV_CLOSE], lk.f[1].u[CRM_LV_CLOSE]);
	ok(crm_linkage_field_weight(&lk, 0, CRM_LV_EXACT) > 0 &&
	   crm_linkage_field_weight(&lk, 0, CRM_LV_DIFF) < 0,
	   "agreement weighs for, disagreement against");
	for (int i = 0; i < (int)lk.nf; i++)
		for (int l = CRM_LV_EXACT; l < CRM_LV_DIFF; l++)
			if (crm_linkage_field_weight(&lk, (size_t)i, l) <
			    crm_linkage_field_weight(&lk, (size_t)i, l + 1) &&
			    !(lk.f[i].cmp == CRM_CMP_EMAIL && l == CRM_LV_FUZZY))
				ok(0, "field %d: level %d weighs less than level %d", i, l, l + 1);
	ok(lk.lambda > 0 && lk.lambda * lk.n * (lk.n - 1) / 2 > 40 &&
	   lk.lambda * lk.n * (lk.n - 1) / 2 < 80,
	   "about 60 matches expected (%.1f)", lk.lambda * lk.n * (lk.n - 1) / 2);
	for (size_t k = 0; k < lk.npairs; k++) {
		const struct crm_pair *p = &lk.pairs[k];
		int same = !strncmp(lk.id[p->a], lk.id[p->b], 6);

		if (same) {
			dup_n++;
			dup_hi += p->p >= 0.98;
		} else {
			other_n++;
			other_hi += p->p >= 0.98;
		}
	}
	is_int(dup_n, 60, "every planted copy is a candidate (recall of blocking)");
	is_int(dup_hi, 60, "and scores >= 0.98");
	ok(other_hi <= other_n / 100, "strangers rarely do (%d of %d)", other_hi, other_n);
	ok(crm_linkage_cluster(&lk, 0.98, 0.8, 10, &cluster, NULL, &e) == 0, "cluster");
	{
		int groups = 0;

		for (uint32_t i = 0; i < lk.n; i++)
			if (cluster[i] != i && !strncmp(lk.id[i], lk.id[cluster[i]], 6))
				groups++;
		is_int(groups, 60, "each copy joins its original");
	}
	free(cluster);
	crm_linkage_release(&lk);
	crm_store_close(db);
	unlink(path);
	snprintf(sql, sizeof(sql), "%s-wal", path);
	unlink(sql);
	snprintf(sql, sizeof(sql), "%s-shm", path);
	unlink(sql);
	weakest_link();
	levels();
	dates();
	return done_testing();
}
