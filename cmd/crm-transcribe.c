/*
 * crm-transcribe - calls to transcripts, analysis and tasks.
 *
 * Takes recordings (WAV) and transcripts (WebVTT, SRT, text, JSON), files
 * named on the command line or landing in a watched directory, and stores
 * each as a call with its summary, action items, sentiment and hesitation;
 * the rep's action items go into their task queue.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../lib/crypt.h"
#include "../lib/asr.h"
#include "../lib/callan.h"
#include "../lib/calls.h"
#include "../lib/id.h"
#include "../lib/llm.h"
#include "../lib/store/store.h"
#include "../lib/transcript.h"
#include "cli.h"

enum { O_URL = 256, O_KEYFILE, O_MODEL, O_LANG, O_TIMEOUT, O_RETRIES, O_PHRASES,
       O_NODOMAIN, O_MODELDIR, O_SPEAKERS, O_REP, O_INFMT, O_DEAL, O_AT, O_NOTASKS,
       O_WATCH, O_ONCE, O_HES, O_TRANSCRIPT, O_WEIGHT, O_ANALYZER, O_LLM_URL, O_LLM_MODEL,
       O_LLM_KEYFILE, O_LLM_CONTEXT, O_LLM_BUDGET };

static const struct cli_opt opts[] = {
	{ "contact", 'c', "ID|EMAIL", "the contact the call was with" },
	{ "deal", O_DEAL, "ID", "the deal the call was about" },
	{ "at", O_AT, "TIME", "when the call took place (default: sidecar, file name, mtime)" },
	{ "rep", O_REP, "NAME", "the speaker who is the rep, by any part of the name (default: from the labels and words)" },
	{ "engine", 'e', "NAME", "speech engine: sphinx (default, offline) or http" },
	{ "url", O_URL, "URL", "http engine: the OpenAI-compatible server ($CRM_ASR_URL)" },
	{ "api-key-file", O_KEYFILE, "FILE", "http engine: file holding the API key ($CRM_ASR_API_KEY)" },
	{ "model", O_MODEL, "NAME", "http engine: model name (default whisper-1)" },
	{ "language", O_LANG, "CODE", "http engine: spoken language, ISO 639-1" },
	{ "timeout", O_TIMEOUT, "SECONDS", "http engine and model: per attempt (default 300, 120)" },
	{ "retries", O_RETRIES, "N", "http engine and model: retries with backoff (default 3)" },
	{ "analyzer", O_ANALYZER, "NAME", "rules (default), llm, or both (store both, report where they differ)" },
	{ "llm-url", O_LLM_URL, "URL", "the model's OpenAI-compatible server ($CRM_LLM_URL)" },
	{ "llm-model", O_LLM_MODEL, "NAME", "the model's name on that server ($CRM_LLM_MODEL)" },
	{ "llm-key-file", O_LLM_KEYFILE, "FILE", "file holding the model server's API key ($CRM_LLM_API_KEY)" },
	{ "llm-context", O_LLM_CONTEXT, "CHARS", "transcript characters a request holds; longer calls go in windows (24000)" },
	{ "llm-budget", O_LLM_BUDGET, "SECONDS", "model time for one call, retries included, before the rules stand (300)" },
	{ "phrases", O_PHRASES, "FILE", "sphinx: sentences with your products' words, one a line" },
	{ "no-domain-lm", O_NODOMAIN, NULL, "sphinx: decode without the sales-call language model" },
	{ "domain-weight", O_WEIGHT, "W", "sphinx: weight of the sales-call model, 0..1 (default 0.5)" },
	{ "model-dir", O_MODELDIR, "DIR", "sphinx: acoustic model directory" },
	{ "speakers", O_SPEAKERS, "A,B", "names of the two channels of a stereo file (rep,customer)" },
	{ "input-format", O_INFMT, "FMT", "wav, vtt, srt, text or json (default: by content)" },
	{ "hesitation", O_HES, "X", "hesitation score that flags a call, 0..1 (default 0.5)" },
	{ "no-tasks", O_NOTASKS, NULL, "store the call, create no tasks" },
	{ "dry-run", 'n', NULL, "analyse and print; store nothing" },
	{ "transcript", O_TRANSCRIPT, NULL, "include the utterances in the output" },
	{ "watch", O_WATCH, "DIR", "process files as they land in DIR; move them to done/ or failed/" },
	{ "once", O_ONCE, NULL, "with --watch: process what is there, then exit (cron)" },
	{ "format", 'f', "FMT", "ndjson or table (default: table on a terminal)" },
	{ "quiet", 'q', NULL, "no progress on stderr" },
	{ NULL, 0, NULL, NULL }
};

static const struct cli cli = {
	"crm-transcribe", "[options] FILE... | --watch DIR | show ID",
	"Transcribe and analyse calls; turn their action items into tasks.",
	opts,
};

static struct crm_asr_opts asr_o;
static struct crm_asr *asr;
static struct crm_callan_opts an_o;
static struct crm_llm_opts llm_o;
static struct crm_llm_stats llm_total;
static enum crm_analyzer analyzer = CRM_ANALYZER_RULES;
static const char *opt_contact, *opt_deal, *opt_infmt;
static time_t opt_at;
static int dry_run, no_tasks, table, quiet, with_transcript;
static struct crm_store *db;

static void print_result(const char *path, const struct crm_transcript *t,
			 const struct crm_analysis *a, const struct crm_call_out *out,
			 const char *fmt, const char *engine)
{
	struct crm_buf b = { 0 };
	char *s = NULL;

	if (table ? crm_call_text(&b, path, t, a, out, with_transcript) < 0
		  : !(s = crm_call_json(path, t, a, out, fmt, engine, with_transcript)))
		cli_die(CRM_ESOFTWARE, "out of memory");
	if (s) {
		cli_write(s, strlen(s));
		cli_write("\n", 1);
	} else {
		cli_write(b.data, b.len);
	}
	free(s);
	crm_buf_release(&b);
}

/* Process one file; 0, or -1 with e set. */
static int process(const char *path, struct crm_err *e)
{
	struct crm_map m;
	struct crm_call_hints h = {0};
	struct crm_transcript t = {0};
	struct crm_analysis a = {0};
	struct crm_call_out out = {0};
	struct crm_hash hh;
	char sha[33];
	enum crm_tformat f;
	const char *engine = NULL;
	int rc = -1;

	if (crm_map_file(path, 4ULL << 30, "a call", &m, e) < 0)
		return -1;
	f = opt_infmt ? crm_tformat_parse(opt_infmt) : crm_transcript_probe(path, m.data, m.len);
	if (f == CRM_TF_WAV) {
		if (!asr) {
			if (!quiet && table)
				cli_warn("loading the %s speech engine", asr_o.engine ? asr_o.engine : "sphinx");
			if (!(asr = crm_asr_new(&asr_o, e)))
				goto done;
		}
		engine = asr_o.engine ? asr_o.engine : "sphinx";
		if (crm_asr_file(asr, path, m.data, m.len, &t, e) < 0)
			goto done;
	} else if (crm_transcript_parse(&t, f, path, m.data, m.len, e) < 0) {
		goto done;
	}
	crm_call_name_hints(path, &h);
	if (crm_call_sidecar_hints(path, &h, e) < 0)
		goto done;
	an_o.call_time = opt_at ? opt_at : h.at ? h.at : (time_t)m.mtime;
	struct crm_callan_opts ao = an_o;
	if (!ao.rep && h.rep[0])
		ao.rep = h.rep;
	/* The people the records name, for a recording's unlabelled sides. */
	char rep_name[64], cust_name[64];
	struct crm_call_in who = { .contact = opt_contact ? opt_contact : h.contact[0] ? h.contact : NULL,
				   .deal = opt_deal ? opt_deal : h.deal[0] ? h.deal : NULL };
	if (db && crm_call_people(db, &who, rep_name, sizeof rep_name, cust_name, sizeof cust_name, e) < 0)
		goto done;
	ao.rep_name = db ? rep_name : NULL;
	ao.customer_name = db ? cust_name : NULL;
	{
		struct crm_llm_stats ls;

		if (crm_call_analyze(analyzer, &llm_o, &t, &ao, &a, &ls, e) < 0)
			goto done;
		llm_total.requests += ls.requests;
		llm_total.windows += ls.windows;
		llm_total.build_ms += ls.build_ms;
		llm_total.check_ms += ls.check_ms;
		llm_total.wait_ms += ls.wait_ms;
		llm_total.items_agreed += ls.items_agreed;
		llm_total.items_either += ls.items_either;
		llm_total.calls_compared += ls.calls_compared;
		llm_total.hesitation_agreed += ls.hesitation_agreed;
	}
	if (a.fallback && !quiet)
		cli_warn("%s: the rules' analysis stands: %s", path, a.fallback);
	if (!dry_run) {
		struct crm_call_in in = {0};
		crm_hash_init(&hh);
		crm_hash_add(&hh, m.data, m.len);
		crm_hash_hex(&hh, sha);
		in.file = path;
		in.sha = sha;
		in.format = crm_tformat_name(f);
		in.engine = engine;
		in.contact = who.contact;
		in.deal = who.deal;
		in.call_time = ao.call_time;
		in.no_tasks = no_tasks;
		in.t = &t;
		in.a = &a;
		if (crm_call_store(db, &in, &out, e) < 0) {
			/* Name the file in the message. */
			char msg[CRM_ERR_MAX];
			snprintf(msg, sizeof msg, "%s", e->msg);
			crm_err_set(e, e->code, "%s: %s", path, msg);
			goto done;
		}
	}
	print_result(path, &t, &a, dry_run ? NULL : &out, crm_tformat_name(f), engine);
	rc = 0;
done:
	crm_analysis_free(&a);
	crm_transcript_free(&t);
	crm_unmap(&m);
	return rc;
}

/* Watch mode. */

static int skip_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] == '.' || (len > 4 && !strcmp(n + len - 4, ".tmp")) ||
	       (len > 5 && !strcmp(n + len - 5, ".part")) ||
	       (len > 10 && !strcmp(n + len - 10, ".meta.json")) ||
	       (len > 7 && !strcmp(n + len - 7, ".reason"));
}

static int move_to(const char *dir, const char *sub, const char *name)
{
	char from[4096], to[4096];

	snprintf(from, sizeof from, "%s/%s", dir, name);
	snprintf(to, sizeof to, "%s/%s/%s", dir, sub, name);
	if (rename(from, to) < 0)
		return -1;
	char *sc = crm_call_sidecar(from);
	if (sc && !access(sc, F_OK)) {
		const char *b = strrchr(sc, '/');
		snprintf(to, sizeof to, "%s/%s/%s", dir, sub, b ? b + 1 : sc);
		rename(sc, to);
	}
	free(sc);
	return 0;
}

static int watch_one(const char *dir, const char *name)
{
	char path[4096];
	struct crm_err e = {0};
	struct stat sb;

	if (skip_name(name))
		return 0;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	if (process(path, &e) == 0) {
		if (move_to(dir, "done", name) < 0)
			cli_warn("%s: cannot move to done/: %s", path, strerror(errno));
		return 0;
	}
	cli_warn("%s", e.msg);
	if (e.code == CRM_EUNAVAILABLE || e.code == CRM_EIO) {
		/* Not the file's fault: leave it for the next run. */
		return e.code;
	}
	if (move_to(dir, "failed", name) < 0) {
		cli_warn("%s: cannot move to failed/: %s", path, strerror(errno));
		return e.code;
	}
	char reason[4096];
	snprintf(reason, sizeof reason, "%s/failed/%s.reason", dir, name);
	FILE *fp = fopen(reason, "w");
	if (fp) {
		fprintf(fp, "%s\n", e.msg);
		if (fclose(fp) != 0)
			cli_warn("%s: %s", reason, strerror(errno));
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file already in dir, in name order. */
static int sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, alloc = 0;
	int status = 0;

	if (!d)
		cli_die(CRM_ENOINPUT, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		if (skip_name(de->d_name))
			continue;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			char **nn = realloc(names, alloc * sizeof *nn);
			if (!nn)
				cli_die(CRM_ESOFTWARE, "out of memory");
			names = nn;
		}
		if (!(names[n++] = strdup(de->d_name)))
			cli_die(CRM_ESOFTWARE, "out of memory");
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (!cli_stopping) {
			int rc = watch_one(dir, names[i]);
			if (rc > status)
				status = rc;
		}
		free(names[i]);
	}
	free(names);
	return status;
}

static int watch(const char *dir, int once)
{
	char sub[4096], lock[4096];
	int lfd, ifd = -1, status;

	for (int i = 0; i < 2; i++) {
		snprintf(sub, sizeof sub, "%s/%s", dir, i ? "failed" : "done");
		if (mkdir(sub, 0755) < 0 && errno != EEXIST)
			cli_die(CRM_EIO, "%s: %s", sub, strerror(errno));
	}
	/* One watcher per directory: a second cron run exits at once. */
	snprintf(lock, sizeof lock, "%s/.crm-transcribe.lock", dir);
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		cli_die(CRM_EIO, "%s: %s", lock, strerror(errno));
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (!quiet)
			cli_warn("%s: another crm-transcribe is watching it", dir);
		close(lfd);
		return 0;
	}
	cli_catch_stop();
	if (!once) {
		/* Watch before the sweep, so nothing lands unseen in between. */
		if ((ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0 ||
		    inotify_add_watch(ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0)
			cli_die(CRM_EIO, "%s: inotify: %s", dir, strerror(errno));
		if (!quiet)
			cli_warn("watching %s", dir);
	}
	status = sweep(dir);
	while (!once && !cli_stopping) {
		struct pollfd p = {ifd, POLLIN, 0};
		char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
		ssize_t r;
		if (poll(&p, 1, 1000) <= 0)
			continue;
		r = read(ifd, buf, sizeof buf);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			cli_die(CRM_EIO, "%s: inotify: %s", dir, strerror(errno));
		}
		for (char *p2 = buf; p2 < buf + r; ) {
			struct inotify_event *ev = (struct inotify_event *)p2;
			if (ev->mask & IN_Q_OVERFLOW)
				sweep(dir);
			else if (ev->len && !cli_stopping)
				watch_one(dir, ev->name);
			p2 += sizeof *ev + ev->len;
		}
		fflush(stdout);
	}
	if (ifd >= 0)
		close(ifd);
	close(lfd);
	return once ? status : 0;
}

static int show(int argc, char **argv)
{
	struct crm_err e = {0};
	int status = 0;

	db = cli_open(CRM_STORE_READONLY);
	for (int i = 0; i < argc; i++) {
		struct crm_transcript t = {0};
		char *analysis;
		if (crm_call_transcript(db, argv[i], &t, &analysis, &e) < 0) {
			cli_warn("%s", e.msg);
			status = e.code;
			continue;
		}
		if (table) {
			struct crm_buf b = {0};
			for (size_t k = 0; k < t.n; k++)
				crm_buf_addf(&b, "%02ld:%02ld %s%s%s\n",
					     t.u[k].start >= 0 ? t.u[k].start / 60000 : 0,
					     t.u[k].start >= 0 ? t.u[k].start / 1000 % 60 : 0,
					     t.u[k].speaker ? t.u[k].speaker : "",
					     t.u[k].speaker ? ": " : "", t.u[k].text);
			if (b.data)
				cli_write(b.data, b.len);
			crm_buf_release(&b);
		} else {
			char *tj = crm_transcript_json(&t);
			json_t *o = json_pack("{s:s,s:s,s:o?,s:o?}", "type", "transcript",
					      "interaction", argv[i], "utterances",
					      tj ? json_loads(tj, 0, NULL) : NULL, "analysis",
					      json_loads(analysis, 0, NULL));
			char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
			if (!s)
				cli_die(CRM_ESOFTWARE, "out of memory");
			cli_write(s, strlen(s));
			cli_write("\n", 1);
			free(s);
			free(tj);
			json_decref(o);
		}
		free(analysis);
		crm_transcript_free(&t);
	}
	crm_store_close(db);
	return cli_finish(status);
}

int main(int argc, char **argv)
{
	const char *arg, *watch_dir = NULL, *keyfile = NULL, *llm_keyfile = NULL;
	char *key = NULL, *llm_key = NULL, speakers[256];
	int k, once = 0, status = 0;
	struct crm_err e = {0};

	table = cli_isatty(1);
	asr_o.engine = getenv("CRM_ASR_ENGINE");
	asr_o.url = getenv("CRM_ASR_URL");
	asr_o.retries = 3;
	llm_o.url = getenv("CRM_LLM_URL");
	llm_o.model = getenv("CRM_LLM_MODEL");
	while ((k = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (k) {
		case 'c': opt_contact = arg; break;
		case O_DEAL: opt_deal = arg; break;
		case O_AT:
			if (crm_call_time(arg, &opt_at) < 0)
				cli_die(CRM_EUSAGE, "--at: want YYYY-MM-DD[THH:MM[:SS]], not '%s'", arg);
			break;
		case O_REP: an_o.rep = arg; break;
		case 'e':
			if (strcmp(arg, "sphinx") && strcmp(arg, "http"))
				cli_die(CRM_EUSAGE, "--engine: want sphinx or http, not '%s'", arg);
			asr_o.engine = arg;
			break;
		case O_URL: asr_o.url = arg; break;
		case O_KEYFILE: keyfile = arg; break;
		case O_MODEL: asr_o.model = arg; break;
		case O_LANG: asr_o.language = arg; break;
		case O_TIMEOUT: asr_o.timeout = llm_o.timeout = (long)cli_num("--timeout", arg, 1, 86400); break;
		case O_RETRIES: asr_o.retries = (int)cli_num("--retries", arg, 0, 20); break;
		case O_ANALYZER:
			if ((int)(analyzer = crm_analyzer_parse(arg)) < 0)
				cli_die(CRM_EUSAGE, "--analyzer: want rules, llm or both, not '%s'", arg);
			break;
		case O_LLM_URL: llm_o.url = arg; break;
		case O_LLM_MODEL: llm_o.model = arg; break;
		case O_LLM_KEYFILE: llm_keyfile = arg; break;
		case O_LLM_CONTEXT: llm_o.context = (size_t)cli_num("--llm-context", arg, 200, 1e8); break;
		case O_LLM_BUDGET: llm_o.budget = (long)cli_num("--llm-budget", arg, 1, 86400); break;
		case O_PHRASES: asr_o.phrases = arg; break;
		case O_NODOMAIN: asr_o.no_domain = 1; break;
		case O_WEIGHT: asr_o.domain_weight = cli_num("--domain-weight", arg, 0.01, 0.99); break;
		case O_MODELDIR: asr_o.model_dir = arg; break;
		case O_SPEAKERS: {
			char *comma;
			snprintf(speakers, sizeof speakers, "%s", arg);
			if (!(comma = strchr(speakers, ',')) || comma == speakers || !comma[1])
				cli_die(CRM_EUSAGE, "--speakers: want two names, A,B");
			*comma = 0;
			asr_o.speakers[0] = speakers;
			asr_o.speakers[1] = comma + 1;
			break;
		}
		case O_INFMT:
			if (crm_tformat_parse(arg) == CRM_TF_UNKNOWN)
				cli_die(CRM_EUSAGE, "--input-format: want wav, vtt, srt, text or json, not '%s'", arg);
			opt_infmt = arg;
			break;
		case O_HES: an_o.hesitation_threshold = cli_num("--hesitation", arg, 0.01, 1); break;
		case O_NOTASKS: no_tasks = 1; break;
		case 'n': dry_run = 1; break;
		case O_TRANSCRIPT: with_transcript = 1; break;
		case O_WATCH: watch_dir = arg; break;
		case O_ONCE: once = 1; break;
		case 'f':
			table = cli_table(arg);
			break;
		case 'q': quiet = 1; break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc && !strcmp(argv[0], "show")) {
		if (argc < 2)
			cli_die(CRM_EUSAGE, "show: which call? (an interaction id)");
		return show(argc - 1, argv + 1);
	}
	if (once && !watch_dir)
		cli_die(CRM_EUSAGE, "--once goes with --watch DIR");
	if (!watch_dir && !argc)
		cli_die(CRM_EUSAGE, "no files (try --help)");
	if (watch_dir && argc)
		cli_die(CRM_EUSAGE, "--watch takes no file arguments");
	if (asr_o.engine && !strcmp(asr_o.engine, "http")) {
		if (!asr_o.url)
			cli_die(CRM_EUSAGE, "--engine http needs --url or $CRM_ASR_URL");
		asr_o.api_key = key = cli_secret(keyfile, "CRM_ASR_API_KEY");
	}
	llm_o.retries = asr_o.retries;
	if (analyzer != CRM_ANALYZER_RULES) {
		if (!llm_o.url)
			cli_die(CRM_EUSAGE, "--analyzer %s needs --llm-url or $CRM_LLM_URL", analyzer == CRM_ANALYZER_LLM ? "llm" : "both");
		llm_o.api_key = llm_key = cli_secret(llm_keyfile, "CRM_LLM_API_KEY");
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			cli_die(CRM_ESOFTWARE, "curl did not initialise");
	}
	if (!dry_run && crm_store_open(&db, crm_store_target(cli_db), CRM_STORE_CREATE, &e) < 0)
		cli_die_err(&e);
	if (watch_dir) {
		status = watch(watch_dir, once);
	} else {
		for (int i = 0; i < argc && !cli_epipe; i++) {
			if (process(argv[i], &e) < 0) {
				cli_warn("%s", e.msg);
				if (e.code > status)
					status = e.code;
			}
		}
	}
	if (asr && !quiet && table) {
		double au, sp;
		crm_asr_stats(asr, &au, &sp);
		if (au > 0)
			cli_warn("%.1f s of audio in %.1f s (real-time factor %.2f)", au, sp, sp / au);
	}
	crm_asr_free(asr);
	if (analyzer != CRM_ANALYZER_RULES && !quiet)
		cli_warn("model: %ld requests for %ld windows; building them %.1f ms, checking the answers %.1f ms, "
			 "waiting for the server %.1f ms", llm_total.requests, llm_total.windows,
			 llm_total.build_ms, llm_total.check_ms, llm_total.wait_ms);
	if (llm_total.calls_compared && !quiet)
		cli_warn("model and rules: %ld of %ld items agree (%.0f%%); hesitation agrees on %ld of %ld calls",
			 llm_total.items_agreed, llm_total.items_either,
			 llm_total.items_either ? 100.0 * (double)llm_total.items_agreed / (double)llm_total.items_either : 100.0,
			 llm_total.hesitation_agreed, llm_total.calls_compared);
	if (llm_key) {
		explicit_bzero(llm_key, strlen(llm_key));
		free(llm_key);
	}
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	if (db)
		crm_store_close(db);
	return cli_finish(status);
}
