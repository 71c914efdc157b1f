/*
 * callfile.h - a call's file processed whole: read (a recording through
 * the speech engine, a transcript parsed), analysed, stored; and a
 * folder of such files worked through as they arrive.
 */
#ifndef CRM_CALLFILE_H
#define CRM_CALLFILE_H

#include <signal.h>
#include <time.h>

#include "asr.h"
#include "callan.h"
#include "calls.h"
#include "llm.h"
#include "store/store.h"
#include "transcript.h"
#include "util.h"

/* What a person may want to know, by how much: a fault (a file failed),
 * a note (the rules' analysis stood for the model's; a folder watched),
 * progress (the speech engine loading). */
enum { CRM_TELL_FAULT, CRM_TELL_NOTE, CRM_TELL_PROGRESS };

/* How call files are processed: set the options, then call
 * crm_callfile_process for each file; crm_callfile_release at the end. */
struct crm_callfile {
	struct crm_asr_opts asr_o;
	struct crm_callan_opts an_o;
	struct crm_llm_opts llm_o;
	enum crm_analyzer analyzer;
	const char *contact, *deal;	/* the call's, else from its name or sidecar */
	const char *infmt;		/* the input's format, else probed */
	time_t at;			/* when the call was, else from its name, sidecar or mtime */
	int dry_run, no_tasks;
	void (*tell)(void *ctx, int level, const char *what);	/* or NULL */
	void *ctx;
	/* kept between files */
	struct crm_asr *asr;
	struct crm_llm_stats llm;	/* the model path's cost, added up */
};

/* What one file gave: free with crm_callfile_result_free. */
struct crm_callfile_result {
	struct crm_transcript t;
	struct crm_analysis a;
	struct crm_call_out out;	/* when stored (not a dry run) */
	const char *format, *engine;	/* engine NULL for a transcript */
};

/*
 * Process the call in file path: read, analyse (naming the people from
 * the records of db, when db), and store unless a dry run. 0, or -1 with
 * e naming the file.
 */
int crm_callfile_process(struct crm_callfile *c, struct crm_store *db, const char *path,
			 struct crm_callfile_result *r, struct crm_err *e);
void crm_callfile_result_free(struct crm_callfile_result *r);
void crm_callfile_release(struct crm_callfile *c);

/*
 * Work through the folder dir: every file in it in name order, then with
 * forever each file written or moved into it, until *stop is set. Each
 * is handed to one (0, or -1 with e); done ones move to dir/done/, failed
 * ones to dir/failed/ with a FILE.reason beside them saying why, a
 * sidecar (FILE.meta.json) along with its file. A file whose failure is
 * not its own (CRM_EUNAVAILABLE, CRM_EIO) stays for the next run. One
 * watcher a folder: a second returns 0 at once, told so. Each failure
 * and what else a person may want to know goes to tell. Returns 0, or
 * without forever the worst failure's code; -1 with e when the folder
 * cannot be watched.
 */
int crm_callfile_watch(const char *dir, int forever, volatile sig_atomic_t *stop,
		       int (*one)(void *ctx, const char *path, struct crm_err *e),
		       void (*tell)(void *ctx, int level, const char *what), void *ctx,
		       struct crm_err *e);

#endif
