/*
 * predict.c - crm's prediction step against XGBoost's own predictor on
 * the same rows, in one run: crm_model_predict() (which copies the rows
 * into a matrix, then predicts) against XGBoost given the finished float
 * array (XGDMatrixCreateFromMat, XGBoosterPredictFromDMatrix). A new
 * DMatrix each run: XGBoost caches predictions per DMatrix, so predicting
 * twice on one measures the cache. Median of five runs each.
 *
 *   predict DB TYPE
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/crypt.h"
#include "../../lib/store/store.h"
#include "../../lib/model.h"

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct crm_err e = { 0 };
	struct crm_model m;
	struct crm_dataset d;
	struct crm_store *db;
	float *p;
	double ours[5], theirs[5];
	DMatrixHandle dm;
	const char *types[CRM_MAXFEAT];

	if (argc != 3) {
		fprintf(stderr, "usage: predict DB TYPE\n");
		return 2;
	}
	crm_model_init(&m);
	crm_dataset_init(&d, crm_entity_find(argv[2]));
	if (crm_store_open(&db, argv[1], CRM_STORE_READONLY, &e) < 0 ||
	    crm_model_load(db, d.type, NULL, &m, &e) < 0 ||
	    crm_dataset_build(&d, db, NULL, &m.schema, &e) < 0) {
		fprintf(stderr, "predict: %s\n", e.msg);
		return 1;
	}
	p = malloc(d.n * sizeof(*p));
	for (size_t j = 0; j < d.nfeat; j++)
		types[j] = d.feat[j].kind == CRM_FEAT_CAT ? "c" : "q";
	for (int r = 0; r < 5; r++) {
		double t0 = crm_now();
		const bst_ulong *shape;
		bst_ulong dim;
		const float *res;

		crm_model_predict(&m, &d, 0, d.n, p, &e);
		ours[r] = crm_now() - t0;
		t0 = crm_now();
		XGDMatrixCreateFromMat(d.x, d.n, d.nfeat, NAN, &dm);
		XGDMatrixSetStrFeatureInfo(dm, "feature_type", types, d.nfeat);
		XGBoosterPredictFromDMatrix(m.booster, dm,
			"{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
			"\"iteration_end\": 0, \"strict_shape\": false}", &shape, &dim, &res);
		XGDMatrixFree(dm);
		theirs[r] = crm_now() - t0;
	}
	qsort(ours, 5, sizeof(double), cmp_d);
	qsort(theirs, 5, sizeof(double), cmp_d);
	printf("prediction of %zu %ss (%zu features): crm %.0f rows/s, XGBoost's own %.0f rows/s, ratio %.2f\n",
	       d.n, d.type->kind, d.nfeat, (double)d.n / ours[2], (double)d.n / theirs[2],
	       theirs[2] / ours[2]);
	free(p);
	crm_dataset_release(&d);
	crm_model_release(&m);
	crm_store_close(db);
	return 0;
}
