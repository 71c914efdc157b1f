/*
 * callfile.c - a call's file processed whole, and a folder of them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callfile.h"
#include "id.h"

__attribute__((format(printf, 3, 4)))
static void note(struct crm_callfile *c, int level, const char *fmt, ...)
{
	char what[CRM_ERR_MAX + 256];
	va_list ap;

	if (!c->tell)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	c->tell(c->ctx, level, what);
}

static void llm_add(struct crm_llm_stats *to, const struct crm_llm_stats *s)
{
	to->requests += s->requests;
	to->windows += s->windows;
	to->build_ms += s->build_ms;
	to->check_ms += s->check_ms;
	to->wait_ms += s->wait_ms;
	to->items_agreed += s->items_agreed;
	to->items_either += s->items_either;
	to->calls_compared += s->calls_compared;
	to->hesitation_agreed += s->hesitation_agreed;
}

/* The transcript of the file in m: a recording heard, a transcript read. */
static int read_call(struct crm_callfile *c, const char *path, const struct crm_map *m,
		     struct crm_callfile_result *r, struct crm_err *e)
{
	enum crm_tformat f = c->infmt ? crm_tformat_parse(c->infmt) :
			     crm_transcript_probe(path, m->data, m->len);

	r->format = crm_tformat_name(f);
	if (f != CRM_TF_WAV)
		return crm_transcript_parse(&r->t, f, path, m->data, m->len, e);
	r->engine = c->asr_o.engine ? c->asr_o.engine : "sphinx";
	if (!c->asr) {
		note(c, CRM_TELL_PROGRESS, "loading the %s speech engine", r->engine);
		if (!(c->asr = crm_asr_new(&c->asr_o, e)))
			return -1;
	}
	return crm_asr_file(c->asr, path, m->data, m->len, &r->t, e);
}

int crm_callfile_process(struct crm_callfile *c, struct crm_store *db, const char *path,
			 struct crm_callfile_result *r, struct crm_err *e)
{
	struct crm_map m;
	struct crm_call_hints h = { 0 };
	struct crm_callan_opts ao = c->an_o;
	struct crm_llm_stats ls = { 0 };
	char rep_name[64], cust_name[64];
	struct crm_call_in who = { 0 };
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (crm_map_file(path, 4ULL << 30, "a call", &m, e) < 0)
		return -1;
	if (read_call(c, path, &m, r, e) < 0)
		goto done;
	crm_call_name_hints(path, &h);
	if (crm_call_sidecar_hints(path, &h, e) < 0)
		goto done;
	ao.call_time = c->at ? c->at : h.at ? h.at : (time_t)m.mtime;
	if (!ao.rep && h.rep[0])
		ao.rep = h.rep;
	/* The people the records name, for a recording's unlabelled sides. */
	who.contact = c->contact ? c->contact : h.contact[0] ? h.contact : NULL;
	who.deal = c->deal ? c->deal : h.deal[0] ? h.deal : NULL;
	if (db && crm_call_people(db, &who, rep_name, sizeof rep_name, cust_name, sizeof cust_name, e) < 0)
		goto done;
	ao.rep_name = db ? rep_name : NULL;
	ao.customer_name = db ? cust_name : NULL;
	rc = crm_call_analyze(c->analyzer, &c->llm_o, &r->t, &ao, &r->a, &ls, e);
	llm_add(&c->llm, &ls);
	if (rc < 0)
		goto done;
	rc = -1;
	if (r->a.fallback)
		note(c, CRM_TELL_NOTE, "%s: the rules' analysis stands: %s", path, r->a.fallback);
	if (!c->dry_run) {
		struct crm_hash hh;
		char sha[33];
		struct crm_call_in in = { .file = path, .sha = sha, .format = r->format,
					  .engine = r->engine, .contact = who.contact, .deal = who.deal,
					  .call_time = ao.call_time, .no_tasks = c->no_tasks,
					  .t = &r->t, .a = &r->a };

		crm_hash_init(&hh);
		crm_hash_add(&hh, m.data, m.len);
		crm_hash_hex(&hh, sha);
		if (crm_call_store(db, &in, &r->out, e) < 0) {
			char msg[CRM_ERR_MAX];	/* the file named in the message */

			snprintf(msg, sizeof msg, "%s", e->msg);
			crm_err_set(e, e->code, "%s: %s", path, msg);
			goto done;
		}
	}
	rc = 0;
done:
	crm_unmap(&m);
	if (rc < 0)
		crm_callfile_result_free(r);
	return rc;
}

void crm_callfile_result_free(struct crm_callfile_result *r)
{
	crm_analysis_free(&r->a);
	crm_transcript_free(&r->t);
	memset(r, 0, sizeof(*r));
}

void crm_callfile_release(struct crm_callfile *c)
{
	crm_asr_free(c->asr);
	c->asr = NULL;
}

/* ---- a folder ------------------------------------------------------------ */

struct folder {
	const char *dir;
	int (*one)(void *ctx, const char *path, struct crm_err *e);
	void (*tell)(void *ctx, int level, const char *what);
	void *ctx;
	volatile sig_atomic_t *stop;
};

__attribute__((format(printf, 3, 4)))
static void tell(const struct folder *f, int level, const char *fmt, ...)
{
	char what[CRM_ERR_MAX + 8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	f->tell(f->ctx, level, what);
}

/* Not a call: hidden, half written, a sidecar or a reason. */
static int skip_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] == '.' || (len > 4 && !strcmp(n + len - 4, ".tmp")) ||
	       (len > 5 && !strcmp(n + len - 5, ".part")) ||
	       (len > 10 && !strcmp(n + len - 10, ".meta.json")) ||
	       (len > 7 && !strcmp(n + len - 7, ".reason"));
}

/* Move dir/name, and its sidecar, into dir/sub/. */
static int move_to(const char *dir, const char *sub, const char *name)
{
	char from[4096], to[4096], *sc;

	snprintf(from, sizeof from, "%s/%s", dir, name);
	snprintf(to, sizeof to, "%s/%s/%s", dir, sub, name);
	if (rename(from, to) < 0)
		return -1;
	sc = crm_call_sidecar(from);
	if (sc && !access(sc, F_OK)) {
		const char *b = strrchr(sc, '/');

		snprintf(to, sizeof to, "%s/%s/%s", dir, sub, b ? b + 1 : sc);
		rename(sc, to);
	}
	free(sc);
	return 0;
}

/* One file of the folder: 0, or the code of a failure not the file's. */
static int folder_one(const struct folder *f, const char *name)
{
	char path[4096], reason[4096];
	struct crm_err e = { 0 };
	struct stat sb;
	FILE *fp;

	if (skip_name(name))
		return 0;
	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	if (f->one(f->ctx, path, &e) == 0) {
		if (move_to(f->dir, "done", name) < 0)
			tell(f, CRM_TELL_FAULT, "%s: cannot move to done/: %s", path, strerror(errno));
		return 0;
	}
	f->tell(f->ctx, CRM_TELL_FAULT, e.msg);
	if (e.code == CRM_EUNAVAILABLE || e.code == CRM_EIO)
		return e.code;	/* not the file's fault: left for the next run */
	if (move_to(f->dir, "failed", name) < 0) {
		tell(f, CRM_TELL_FAULT, "%s: cannot move to failed/: %s", path, strerror(errno));
		return e.code;
	}
	snprintf(reason, sizeof reason, "%s/failed/%s.reason", f->dir, name);
	if ((fp = fopen(reason, "w"))) {
		fprintf(fp, "%s\n", e.msg);
		if (fclose(fp) != 0)
			tell(f, CRM_TELL_FAULT, "%s: %s", reason, strerror(errno));
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file already in the folder, in name order: the worst code. */
static int sweep(const struct folder *f, struct crm_err *e)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, alloc = 0;
	int status = 0;

	if (!d)
		return crm_err_set(e, CRM_ENOINPUT, "%s: %s", f->dir, strerror(errno));
	while ((de = readdir(d))) {
		if (skip_name(de->d_name))
			continue;
		if (n == alloc) {
			char **nn = realloc(names, (alloc = alloc ? alloc * 2 : 64) * sizeof *nn);

			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (de) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return crm_err_set(e, CRM_ESOFTWARE, "out of memory");
	}
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (!*f->stop) {
			int rc = folder_one(f, names[i]);

			if (rc > status)
				status = rc;
		}
		free(names[i]);
	}
	free(names);
	return status;
}

int crm_callfile_watch(const char *dir, int forever, volatile sig_atomic_t *stop,
		       int (*one)(void *ctx, const char *path, struct crm_err *e),
		       void (*told)(void *ctx, int level, const char *what), void *ctx,
		       struct crm_err *e)
{
	struct folder f = { dir, one, told, ctx, stop };
	char sub[4096], lock[4096];
	int lfd, ifd = -1, status = -1;

	for (int i = 0; i < 2; i++) {
		snprintf(sub, sizeof sub, "%s/%s", dir, i ? "failed" : "done");
		if (mkdir(sub, 0755) < 0 && errno != EEXIST)
			return crm_err_set(e, CRM_EIO, "%s: %s", sub, strerror(errno));
	}
	/* One watcher per folder: a second cron run returns at once. */
	snprintf(lock, sizeof lock, "%s/.crm-transcribe.lock", dir);
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return crm_err_set(e, CRM_EIO, "%s: %s", lock, strerror(errno));
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		tell(&f, CRM_TELL_NOTE, "%s: another crm-transcribe is watching it", dir);
		close(lfd);
		return 0;
	}
	if (forever) {
		/* Watch before the sweep, so nothing lands unseen in between. */
		if ((ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0 ||
		    inotify_add_watch(ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
			crm_err_set(e, CRM_EIO, "%s: inotify: %s", dir, strerror(errno));
			goto out;
		}
		tell(&f, CRM_TELL_NOTE, "watching %s", dir);
	}
	if ((status = sweep(&f, e)) < 0)
		goto out;
	while (forever && !*stop) {
		struct pollfd p = { ifd, POLLIN, 0 };
		char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
		ssize_t r;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		if ((r = read(ifd, buf, sizeof buf)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			status = crm_err_set(e, CRM_EIO, "%s: inotify: %s", dir, strerror(errno));
			goto out;
		}
		for (char *q = buf; q < buf + r;) {
			struct inotify_event *ev = (struct inotify_event *)q;

			if (ev->mask & IN_Q_OVERFLOW)
				sweep(&f, e);
			else if (ev->len && !*stop)
				folder_one(&f, ev->name);
			q += sizeof *ev + ev->len;
		}
	}
	if (forever)
		status = 0;
out:
	if (ifd >= 0)
		close(ifd);
	close(lfd);
	return status;
}
