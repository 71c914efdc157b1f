/*
 * crm-transcribe - calls to transcripts, analysis and tasks.
 *
 * Takes recordings (WAV) and transcripts (WebVTT, SRT, text, JSON), files
 * named on the command line or landing in a watched directory, and stores
 * each as a call with its summary, action items, sentiment and hesitation;
 * the rep's action items go into their task queue.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../lib/crypt.h"
#include "../lib/calls.h"
#include "../lib/callfile.h"
#include "../lib/store/store.h"
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

static struct crm_callfile cf;	/* how the files are processed */
static int table, quiet, with_transcript;
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

/* Faults always; notes unless quiet; progress on a terminal. */
static void tell(void *ctx, int level, const char *what)
{
	(void)ctx;
	if (level == CRM_TELL_FAULT || (!quiet && (level == CRM_TELL_NOTE || table)))
		cli_warn("%s", what);
}

/* Process one file and show what it gave; 0, or -1 with e set. */
static int process(void *ctx, const char *path, struct crm_err *e)
{
	struct crm_callfile_result r;

	(void)ctx;
	if (crm_callfile_process(&cf, db, path, &r, e) < 0)
		return -1;
	print_result(path, &r.t, &r.a, cf.dry_run ? NULL : &r.out, r.format, r.engine);
	fflush(stdout);
	crm_callfile_result_free(&r);
	return 0;
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
	cf.asr_o.engine = getenv("CRM_ASR_ENGINE");
	cf.asr_o.url = getenv("CRM_ASR_URL");
	cf.asr_o.retries = 3;
	cf.llm_o.url = getenv("CRM_LLM_URL");
	cf.llm_o.model = getenv("CRM_LLM_MODEL");
	while ((k = cli_next(&cli, argc, argv, &arg)) != -1) {
		switch (k) {
		case 'c': cf.contact = arg; break;
		case O_DEAL: cf.deal = arg; break;
		case O_AT:
			if (crm_call_time(arg, &cf.at) < 0)
				cli_die(CRM_EUSAGE, "--at: want YYYY-MM-DD[THH:MM[:SS]], not '%s'", arg);
			break;
		case O_REP: cf.an_o.rep = arg; break;
		case 'e':
			if (strcmp(arg, "sphinx") && strcmp(arg, "http"))
				cli_die(CRM_EUSAGE, "--engine: want sphinx or http, not '%s'", arg);
			cf.asr_o.engine = arg;
			break;
		case O_URL: cf.asr_o.url = arg; break;
		case O_KEYFILE: keyfile = arg; break;
		case O_MODEL: cf.asr_o.model = arg; break;
		case O_LANG: cf.asr_o.language = arg; break;
		case O_TIMEOUT: cf.asr_o.timeout = cf.llm_o.timeout = (long)cli_num("--timeout", arg, 1, 86400); break;
		case O_RETRIES: cf.asr_o.retries = (int)cli_num("--retries", arg, 0, 20); break;
		case O_ANALYZER:
			if ((int)(cf.analyzer = crm_analyzer_parse(arg)) < 0)
				cli_die(CRM_EUSAGE, "--analyzer: want rules, llm or both, not '%s'", arg);
			break;
		case O_LLM_URL: cf.llm_o.url = arg; break;
		case O_LLM_MODEL: cf.llm_o.model = arg; break;
		case O_LLM_KEYFILE: llm_keyfile = arg; break;
		case O_LLM_CONTEXT: cf.llm_o.context = (size_t)cli_num("--llm-context", arg, 200, 1e8); break;
		case O_LLM_BUDGET: cf.llm_o.budget = (long)cli_num("--llm-budget", arg, 1, 86400); break;
		case O_PHRASES: cf.asr_o.phrases = arg; break;
		case O_NODOMAIN: cf.asr_o.no_domain = 1; break;
		case O_WEIGHT: cf.asr_o.domain_weight = cli_num("--domain-weight", arg, 0.01, 0.99); break;
		case O_MODELDIR: cf.asr_o.model_dir = arg; break;
		case O_SPEAKERS: {
			char *comma;
			snprintf(speakers, sizeof speakers, "%s", arg);
			if (!(comma = strchr(speakers, ',')) || comma == speakers || !comma[1])
				cli_die(CRM_EUSAGE, "--speakers: want two names, A,B");
			*comma = 0;
			cf.asr_o.speakers[0] = speakers;
			cf.asr_o.speakers[1] = comma + 1;
			break;
		}
		case O_INFMT:
			if (crm_tformat_parse(arg) == CRM_TF_UNKNOWN)
				cli_die(CRM_EUSAGE, "--input-format: want wav, vtt, srt, text or json, not '%s'", arg);
			cf.infmt = arg;
			break;
		case O_HES: cf.an_o.hesitation_threshold = cli_num("--hesitation", arg, 0.01, 1); break;
		case O_NOTASKS: cf.no_tasks = 1; break;
		case 'n': cf.dry_run = 1; break;
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
	if (cf.asr_o.engine && !strcmp(cf.asr_o.engine, "http")) {
		if (!cf.asr_o.url)
			cli_die(CRM_EUSAGE, "--engine http needs --url or $CRM_ASR_URL");
		cf.asr_o.api_key = key = cli_secret(keyfile, "CRM_ASR_API_KEY");
	}
	cf.llm_o.retries = cf.asr_o.retries;
	if (cf.analyzer != CRM_ANALYZER_RULES) {
		if (!cf.llm_o.url)
			cli_die(CRM_EUSAGE, "--analyzer %s needs --llm-url or $CRM_LLM_URL", cf.analyzer == CRM_ANALYZER_LLM ? "llm" : "both");
		cf.llm_o.api_key = llm_key = cli_secret(llm_keyfile, "CRM_LLM_API_KEY");
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			cli_die(CRM_ESOFTWARE, "curl did not initialise");
	}
	if (!cf.dry_run && crm_store_open(&db, crm_store_target(cli_db), CRM_STORE_CREATE, &e) < 0)
		cli_die_err(&e);
	cf.tell = tell;
	if (watch_dir) {
		cli_catch_stop();
		status = crm_callfile_watch(watch_dir, !once, &cli_stopping, process, tell, NULL, &e);
		if (status < 0)
			cli_die_err(&e);
	} else {
		for (int i = 0; i < argc && !cli_epipe; i++) {
			if (process(NULL, argv[i], &e) < 0) {
				cli_warn("%s", e.msg);
				if (e.code > status)
					status = e.code;
			}
		}
	}
	if (cf.asr && !quiet && table) {
		double au, sp;
		crm_asr_stats(cf.asr, &au, &sp);
		if (au > 0)
			cli_warn("%.1f s of audio in %.1f s (real-time factor %.2f)", au, sp, sp / au);
	}
	crm_callfile_release(&cf);
	if (cf.analyzer != CRM_ANALYZER_RULES && !quiet)
		cli_warn("model: %ld requests for %ld windows; building them %.1f ms, checking the answers %.1f ms, "
			 "waiting for the server %.1f ms", cf.llm.requests, cf.llm.windows,
			 cf.llm.build_ms, cf.llm.check_ms, cf.llm.wait_ms);
	if (cf.llm.calls_compared && !quiet)
		cli_warn("model and rules: %ld of %ld items agree (%.0f%%); hesitation agrees on %ld of %ld calls",
			 cf.llm.items_agreed, cf.llm.items_either,
			 cf.llm.items_either ? 100.0 * (double)cf.llm.items_agreed / (double)cf.llm.items_either : 100.0,
			 cf.llm.hesitation_agreed, cf.llm.calls_compared);
	cli_secret_free(llm_key);
	cli_secret_free(key);
	if (db)
		crm_store_close(db);
	return cli_finish(status);
}
