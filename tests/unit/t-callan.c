/*
 * t-callan.c - due dates from phrases, sentiment signs, transcript
 * formats, the trigram model, resampling and speech spans.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/audio.h"
#include "../../lib/callan.h"
#include "../../lib/calls.h"
#include "../../lib/lm.h"
#include "../../lib/transcript.h"
#include "../../lib/when.h"
#include "tap.h"

static time_t at(int y, int m, int d)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 10;
	return timegm(&tm);
}

static void due(time_t t, const char *text, const char *want)
{
	char d[11] = "", phrase[96] = "";
	int found = crm_due_date(text, t, d, phrase, sizeof phrase);

	is_str(found ? d : "none", want, "'%s' -> %s (phrase '%s')", text, want, phrase);
}

static void test_due(void)
{
	time_t mon = at(2026, 3, 2), fri = at(2026, 3, 6), sat = at(2026, 3, 7);

	due(mon, "I'll send it today", "2026-03-02");
	due(mon, "by end of day", "2026-03-02");
	due(mon, "tomorrow morning", "2026-03-03");
	due(mon, "the day after tomorrow", "2026-03-04");
	due(mon, "by Friday", "2026-03-06");
	due(fri, "by Friday", "2026-03-13");	/* a weekday is the next one */
	due(fri, "this Friday", "2026-03-06");
	due(mon, "next Friday", "2026-03-13");
	due(mon, "on Monday", "2026-03-09");
	due(mon, "next week", "2026-03-09");
	due(fri, "end of next week", "2026-03-13");
	due(mon, "by the end of the week", "2026-03-06");
	due(sat, "by the end of the week", "2026-03-13");
	due(mon, "in two weeks", "2026-03-16");
	due(mon, "within 3 days", "2026-03-05");
	due(mon, "in a couple of days", "2026-03-04");
	due(mon, "end of the month", "2026-03-31");
	due(at(2026, 2, 10), "by the end of this month", "2026-02-28");
	due(at(2024, 2, 10), "end of the month", "2024-02-29");
	due(mon, "next month", "2026-04-01");
	due(mon, "before the end of the quarter", "2026-03-31");
	due(at(2026, 5, 20), "end of the quarter", "2026-06-30");
	due(at(2026, 11, 20), "next quarter", "2027-01-01");
	due(mon, "on the 15th", "2026-03-15");
	due(at(2026, 3, 20), "by the fifteenth", "2026-04-15");
	due(mon, "March 3rd", "2026-03-03");
	due(at(2026, 3, 20), "March the third", "2027-03-03");
	due(mon, "the twenty first of April", "2026-04-21");
	due(mon, "on 2026-12-01", "2026-12-01");
	due(at(2026, 12, 31), "tomorrow", "2027-01-01");
	due(mon, "I will send the proposal", "none");
	due(mon, "we have three vendors", "none");
}

static void test_workdays(void)
{
	char d[11];

	crm_workdays_after(at(2026, 3, 5), 2, d);
	is_str(d, "2026-03-09", "two working days after a Thursday: Monday");
	crm_workdays_after(at(2026, 3, 6), 1, d);
	is_str(d, "2026-03-09", "the working day after a Friday: Monday");
	crm_workdays_after(at(2026, 3, 7), 2, d);
	is_str(d, "2026-03-10", "two working days after a Saturday: Tuesday");
}

static void test_sentiment(void)
{
	ok(crm_sentiment("We love it, this is exactly what we need") > 0.5, "enthusiasm is positive");
	ok(crm_sentiment("The price is too high and the app is slow") < -0.3, "complaints are negative");
	ok(crm_sentiment("It is not bad at all") > 0, "'not bad' is positive");
	ok(crm_sentiment("We are not happy with the support") < 0, "'not happy' is negative");
	ok(crm_sentiment("No problem") > 0, "'no problem' is positive");
	ok(fabs(crm_sentiment("The meeting is on Tuesday")) < 0.05, "a plain fact is neutral");
	ok(crm_sentiment("really great") > crm_sentiment("great"), "intensifiers raise");
}

static void test_formats(void)
{
	struct crm_transcript t = {0};
	struct crm_err e = {0};
	const char *vtt = "WEBVTT\n\n00:01.000 --> 00:02.500 align:start\n<v.loud Ann>Hello <b>there</b></v>\n\n"
			  "01:00:00.000 --> 01:00:01.000\nBob: Hi\n";
	const char *json = "[{\"speaker\":\"A\",\"text\":\"one\",\"start\":100,\"end\":900},"
			   "{\"speakerId\":7,\"text\":\"two\"}]";
	const char *gong = "{\"callTranscripts\":[{\"transcript\":[{\"speakerId\":\"s1\","
			   "\"sentences\":[{\"start\":0,\"end\":500,\"text\":\"a\"},{\"start\":600,\"end\":900,\"text\":\"b\"}]}]}]}";

	is_int(crm_transcript_probe("x.txt", vtt, strlen(vtt)), CRM_TF_VTT, "WEBVTT by content");
	is_int(crm_transcript_probe("x", "1\n00:00:01,000 --> 00:00:02,000\nhi\n", 34), CRM_TF_SRT, "SRT by content");
	is_int(crm_transcript_probe("x.txt", "RIFF\0\0\0\0WAVE", 12), CRM_TF_WAV, "WAV by content");
	ok(crm_transcript_parse(&t, CRM_TF_VTT, "t.vtt", vtt, strlen(vtt), &e) == 0, "vtt parses: %s", e.msg);
	is_int(t.n, 2, "two cues");
	is_str(t.u[0].speaker, "Ann", "voice tag with a class");
	is_str(t.u[0].text, "Hello there", "tags dropped");
	is_int(t.u[0].start, 1000, "mm:ss.mmm");
	is_int(t.u[1].start, 3600000, "hh:mm:ss.mmm");
	is_str(t.u[1].speaker, "Bob", "'Name: text'");
	crm_transcript_free(&t);
	ok(crm_transcript_parse(&t, CRM_TF_JSON, "t.json", json, strlen(json), &e) == 0, "json parses");
	is_str(t.u[1].speaker, "speaker 7", "numeric speaker ids");
	is_int(t.u[1].start, -1, "no time is -1");
	char *round = crm_transcript_json(&t);
	struct crm_transcript t2 = {0};
	ok(round && crm_transcript_from_json(&t2, round, &e) == 0 && t2.n == 2 &&
	   !strcmp(t2.u[0].text, "one") && t2.u[0].end == 900, "JSON round trip");
	free(round);
	crm_transcript_free(&t2);
	crm_transcript_free(&t);
	ok(crm_transcript_parse(&t, CRM_TF_JSON, "g.json", gong, strlen(gong), &e) == 0 && t.n == 2 &&
	   !strcmp(t.u[1].speaker, "s1") && t.u[1].start == 600, "Gong: speakers with sentences");
	crm_transcript_free(&t);
	{	/* a long run of digits is text, not a time that overflows */
		const char *txt = "99999999999999999999999999:1 Rep: the order number\n"
				  "1:2:3:4:5:6:7:8:9:1:2:3:4:5:6:7:8:9:1:2:3:4:5:6:7:8:9 x\n[00:01:02] Ann: hi\n";

		ok(crm_transcript_parse(&t, CRM_TF_TEXT, "d.txt", txt, strlen(txt), &e) == 0 && t.n == 3 &&
		   t.u[0].start == -1 && t.u[2].start == 62000, "digit runs are text; a real time still reads");
		crm_transcript_free(&t);
	}
	ok(crm_transcript_parse(&t, CRM_TF_SRT, "bad.srt", "1\n00:00:05,000 --> 00:00:01,000\nx\n", 34, &e) < 0 &&
	   strstr(e.msg, "bad.srt:2:"), "an end before its start is an error: %s", e.msg);
	crm_transcript_free(&t);
}

/*
 * A long call: 500 sentences in one utterance and across utterances. The
 * sentence array grows while it is filled; every sentence must keep its
 * own words (a use-after-free once, found under ASan past 64 sentences).
 */
/* Speaker labels as people write them, and lines that are not labels. */
static void test_labels(void)
{
	static const struct { const char *line, *speaker, *text; } cases[] = {
		{"Dr. Okafor: Good morning.", "Dr. Okafor", "Good morning."},
		{"Mrs. Lee-Smith: How much is it?", "Mrs. Lee-Smith", "How much is it?"},
		{"J.P.: I'll send it.", "J.P.", "I'll send it."},
		{"A. J. Walsh: fine", "A. J. Walsh", "fine"},
		{"**Dana Ruiz:** We agree.", "Dana Ruiz", "We agree."},
		{"**Dana Ruiz**: We agree.", "Dana Ruiz", "We agree."},
		{"[Sam]: hello", "Sam", "hello"},
		{"SPEAKER_01: yes", "SPEAKER_01", "yes"},
		{"Ana (Acme): hi", "Ana (Acme)", "hi"},
		{"Seán O'Neil: grand", "Seán O'Neil", "grand"},
		{"Okay. So: what next", NULL, "Okay. So: what next"},
		{"We meet at 14:00 today", NULL, "We meet at 14:00 today"},
		{"Note this one thing, really: it matters", NULL, "Note this one thing, really: it matters"},
		{"Well now that you mention it we: no", NULL, "Well now that you mention it we: no"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct crm_transcript t = {0};
		struct crm_err e = {0};
		int rc = crm_transcript_parse(&t, CRM_TF_TEXT, "l.txt", cases[i].line,
					      strlen(cases[i].line), &e);
		ok(rc == 0 && t.n == 1 && (cases[i].speaker ? t.u[0].speaker && !strcmp(t.u[0].speaker, cases[i].speaker)
						      : !t.u[0].speaker) && !strcmp(t.u[0].text, cases[i].text),
		   "label '%s' -> %s", cases[i].line, cases[i].speaker ? cases[i].speaker : "none");
		crm_transcript_free(&t);
	}
	/* A label alone, an Otter header, and lines that continue a speaker. */
	const char *doc = "Ann Lee  0:03\nHello there.\nSecond line.\n\nBob:\nHi Ann.\nBob Marsh (01:02:03)\nYes.\n";
	struct crm_transcript t = {0};
	struct crm_err e = {0};
	ok(crm_transcript_parse(&t, CRM_TF_TEXT, "o.txt", doc, strlen(doc), &e) == 0 && t.n == 4,
	   "headers and continuations: 4 utterances (%zu)", t.n);
	if (t.n == 4) {
		ok(!strcmp(t.u[0].speaker, "Ann Lee") && t.u[0].start == 3000, "Otter header: speaker and time");
		ok(!strcmp(t.u[1].speaker, "Ann Lee") && t.u[1].start == -1, "a line continues its speaker");
		ok(!strcmp(t.u[2].speaker, "Bob"), "a label alone on its line");
		ok(!strcmp(t.u[3].speaker, "Bob Marsh") && t.u[3].start == 3723000, "header with a time in brackets");
	}
	crm_transcript_free(&t);
}

/* The rep from the labels, from --rep by part of the name, from the words. */
static void rep_is(const char *doc, const char *rep, const char *want, const char *why)
{
	struct crm_transcript t = {0};
	struct crm_err e = {0};
	struct crm_analysis a;
	struct crm_callan_opts o = { .call_time = at(2026, 3, 2), .rep = rep };

	if (crm_transcript_parse(&t, CRM_TF_TEXT, "r.txt", doc, strlen(doc), &e) < 0 ||
	    crm_callan(&t, &o, &a, &e) < 0) {
		ok(0, "%s: %s", why, e.msg);
		crm_transcript_free(&t);
		return;
	}
	is_str(a.rep ? a.rep : "unknown", want, "%s (confidence %.2f)", why, a.rep_confidence);
	crm_analysis_free(&a);
	crm_transcript_free(&t);
}

static void test_roles(void)
{
	rep_is("Dr. Okafor: Hello.\nMs. Diaz: Hi.\n", "Okafor", "Dr. Okafor", "--rep names part of a titled label");
	rep_is("Priya Shah: Hello.\nGareth: Hi.\n", "priya", "Priya Shah", "--rep by a first name, any case");
	rep_is("Client: Hello, what does it cost?\nAgent 2: It is ten dollars per seat.\n", NULL, "Agent 2",
	       "labels that say the roles");
	rep_is("Michael: Hi.\nRae: What does your platform cost?\n", NULL, "Michael",
	       "role words inside names are not labels ('ae' in Michael, Rae)");
	rep_is("Gareth: Hi, thanks for calling.\nPriya: Hi Gareth, Priya from PeoplePulse here. Our platform "
	       "is forty pounds per seat.\nGareth: How much does your platform cost for the stores?\n",
	       NULL, "Priya", "the one who introduces a company and prices is the rep, not who opens");
	rep_is("A: Our platform is ten dollars per seat.\nB: Our platform is twelve dollars per seat.\n", NULL,
	       "unknown", "evidence for both alike: the rep is unknown, not guessed");
	rep_is("A: Hello.\nB: Hello.\n", NULL, "A", "no evidence at all: who opens the call, said to be a guess");
}

/* The items of a call, "owner:text|..." in order, and its hesitation. */
static void call_is(const char *doc, const char *rep, const char *want_items, int want_hes,
		    const char *why)
{
	struct crm_transcript t = {0};
	struct crm_err e = {0};
	struct crm_analysis a;
	struct crm_callan_opts o = { .call_time = at(2026, 3, 2), .rep = rep };
	char got[1024] = "";
	size_t k = 0;

	if (crm_transcript_parse(&t, CRM_TF_TEXT, "c.txt", doc, strlen(doc), &e) < 0 ||
	    crm_callan(&t, &o, &a, &e) < 0) {
		ok(0, "%s: %s", why, e.msg);
		crm_transcript_free(&t);
		return;
	}
	for (size_t i = 0; i < a.nitems && k + 1 < sizeof got; i++)
		k += (size_t)snprintf(got + k, sizeof got - k, "%s%s:%s", i ? "|" : "",
				      crm_owner_name(a.items[i].owner), a.items[i].text);
	is_str(got, want_items, "%s: items", why);
	is_int(a.hesitant, want_hes, "%s: hesitant %d (%.2f)", why, want_hes, a.hesitation);
	crm_analysis_free(&a);
	crm_transcript_free(&t);
}

/* Classes of English the analyser reads, one case each. */
static void test_classes(void)
{
	call_is("Dr. Okafor: Welcome in. Please, take a seat. Let me show you the dashboard.\n"
		"Mrs. Lee: Thanks. It looks clear.\n", "Okafor", "", 0,
		"acts done in the conversation are no items");
	call_is("Dr. Okafor: How about a two-week trial?\nMrs. Lee: Sounds good, let's do it.\n", "Okafor",
		"rep:How about a two-week trial?", 0, "a proposal taken up is an item");
	call_is("Dr. Okafor: I can also send a case study.\nMrs. Lee: We have plenty of those.\n", "Okafor",
		"", 0, "an offer not taken up is none");
	call_is("Dr. Okafor: We can run the pilot in April.\nMrs. Lee: Hm.\n", "Okafor",
		"rep:We can run the pilot in April.", 0, "an offer with a date is a plan");
	call_is("Sam: Could you send the security questionnaire?\nAna: Yes, I'll send it over tomorrow.\n", "Ana",
		"rep:Could you send the security questionnaire? Yes, I'll send it over tomorrow.", 0,
		"a request and the answer that takes it up are one item");
	call_is("Ana: Any questions?\nSam: How hard is it to set up?\nAna: About a day.\n", "Ana", "", 0,
		"a plain question is no hesitation");
	call_is("Ana: I'll be sending the revised quote by Friday.\nSam: Great.\n", "Ana",
		"rep:I'll be sending the revised quote by Friday.", 0, "the progressive future acts by its verb");
	call_is("Ana: I'll be waiting for your answer.\nSam: Sure.\n", "Ana", "", 0,
		"but waiting is no act");
	call_is("Ana: Where are you on this?\nSam: I'm not sure about the price, honestly, maybe next year.\n"
		"Ana: We can phase it.\nSam: That works, let's go ahead. Please send the contract.\n", "Ana",
		"rep:Please send the contract.", 0,
		"an early doubt the call resolves (and 'phase it' names nothing)");
	call_is("Ana: Where are you on this?\nSam: We love it, honestly.\nAna: Great.\n"
		"Sam: But I'm not sure we have the budget, I need to check with our CFO, maybe next quarter.\n",
		"Ana", "customer:But I'm not sure we have the budget, I need to check with our CFO, maybe next quarter.", 1,
		"a doubt at the end stands");
}

static void test_long_call(void)
{
	struct crm_transcript t = {0};
	struct crm_analysis a = {0};
	struct crm_callan_opts o = {0};
	struct crm_err e = {0};
	struct crm_buf text;
	int found = 0;

	o.call_time = at(2026, 3, 2);
	o.rep = "Rep";
	crm_buf_init(&text, 0);
	for (int i = 0; i < 499; i++)
		crm_buf_addf(&text, "Line %d is about the weather and the price. ", i);
	crm_buf_adds(&text, "I will send you the contract by Friday.");
	ok(crm_transcript_add(&t, "Rep", -1, -1, text.data, text.len) == 0, "one utterance of 500 sentences");
	for (int i = 0; i < 300; i++) {
		const char *u = "We talked about the price. It was fine. Thanks.";

		crm_transcript_add(&t, i % 2 ? "Customer" : "Rep", -1, -1, u, strlen(u));
	}
	{
		const char *u = "I will email you the signed order form tomorrow.";

		crm_transcript_add(&t, "Customer", -1, -1, u, strlen(u));
	}
	ok(crm_callan(&t, &o, &a, &e) == 0, "analysed: %s", e.msg);
	for (size_t i = 0; i < a.nitems; i++)
		if (strstr(a.items[i].text, "contract by Friday") && a.items[i].owner == CRM_OWNER_REP &&
		    !strcmp(a.items[i].due, "2026-03-06"))
			found |= 1;
		else if (strstr(a.items[i].text, "signed order form") && a.items[i].owner == CRM_OWNER_CUSTOMER)
			found |= 2;
	is_int(found, 3, "the items of sentence 500 and of utterance 302 are found, with owner and due date");
	is_int(a.trackers[CRM_TRK_PRICING] >= 500, 1, "the price tracker counts every mention");
	crm_analysis_free(&a);
	crm_transcript_free(&t);
	crm_buf_release(&text);
}

/* Log10 probability of word w after <s> in an ARPA text (bigram or back-off). */
static double arpa_bigram(const char *arpa, const char *w)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof key, " <s> %s ", w);
	p = strstr(arpa, key);
	if (!p)
		return 1;
	while (p > arpa && p[-1] != '\n')
		p--;
	return strtod(p, NULL);
}

static void test_lm(void)
{
	const char *text = "i will send the proposal\ni will send the contract\nwe will review it\n";
	struct crm_buf b = {0};
	struct crm_err e = {0};

	ok(crm_lm_arpa(text, strlen(text), NULL, NULL, &b, &e) == 0, "ARPA model built");
	ok(strstr(b.data, "\\data\\\nngram 1=11\nngram 2=") != NULL, "eleven unigrams: nine words, <s> and </s>");
	ok(strstr(b.data, " send the proposal\n") && strstr(b.data, "\\end\\"), "trigrams are listed");
	double pi = pow(10, arpa_bigram(b.data, "i")), pw = pow(10, arpa_bigram(b.data, "we"));
	ok(pi > pw && pi + pw < 1, "P(i|<s>) %.3f > P(we|<s>) %.3f, with mass left for unseen words", pi, pw);
	crm_buf_release(&b);
	ok(crm_lm_arpa("...", 3, NULL, NULL, &b, &e) < 0 && e.code == CRM_EDATA, "no words, no model");
	crm_buf_release(&b);
}

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, unsigned long v)
{
	put16(p, (unsigned)(v & 0xffff));
	put16(p + 2, (unsigned)(v >> 16));
}

/* A 48 kHz stereo WAV: a 440 Hz tone on the left for 1 s, then silence
 * 1 s, then the tone on the right for 1 s. */
static unsigned char *make_wav(size_t *n)
{
	size_t frames = 3 * 48000, data = frames * 4;
	unsigned char *w = calloc(1, 44 + data);

	memcpy(w, "RIFF", 4);
	put32(w + 4, 36 + data);
	memcpy(w + 8, "WAVEfmt ", 8);
	put32(w + 16, 16);
	put16(w + 20, 1);
	put16(w + 22, 2);
	put32(w + 24, 48000);
	put32(w + 28, 48000 * 4);
	put16(w + 32, 4);
	put16(w + 34, 16);
	memcpy(w + 36, "data", 4);
	put32(w + 40, data);
	for (size_t i = 0; i < frames; i++) {
		int v = (int)(8000 * sin(2 * M_PI * 440 * (double)i / 48000));
		int l = i < 48000 ? v : 0, r = i >= 96000 ? v : 0;
		put16(w + 44 + i * 4, (unsigned)(l & 0xffff));
		put16(w + 46 + i * 4, (unsigned)(r & 0xffff));
	}
	*n = 44 + data;
	return w;
}

static void test_audio(void)
{
	struct crm_audio a;
	struct crm_err e = {0};
	struct crm_span *sp;
	size_t n;
	unsigned char *w = make_wav(&n);

	ok(crm_audio_wav(&a, "t.wav", w, n, &e) == 0, "48 kHz stereo decodes: %s", e.msg);
	is_int(a.channels, 2, "different channels stay two");
	ok(labs((long)a.n - 48000) <= 1, "resampled to 16 kHz: %zu samples for 3 s", a.n);
	double peak = 0;
	for (size_t i = 4000; i < 12000; i++)
		peak = fmax(peak, fabs((double)a.pcm[0][i]));
	ok(peak > 7000 && peak < 9000, "the tone keeps its level through the filter (peak %.0f)", peak);
	long k = crm_audio_spans(a.pcm[1], a.n, 300, &sp);
	ok(k == 1 && sp[0].start >= 30000 && sp[0].start < 32500 && sp[0].end >= 47000,
	   "one span on the right, from 2 s: %ld [%zu, %zu)", k, k > 0 ? sp[0].start : 0, k > 0 ? sp[0].end : 0);
	free(sp);
	crm_audio_free(&a);
	ok(crm_audio_wav(&a, "cut.wav", w, n / 2, &e) < 0 && strstr(e.msg, "truncated"), "truncated: %s", e.msg);
	put16(w + 34, 12);
	ok(crm_audio_wav(&a, "odd.wav", w, n, &e) < 0 && strstr(e.msg, "12-bit"), "odd sample size: %s", e.msg);
	free(w);
}

/* What a call's file name says: the contact (an email, the extension
 * not glued to its domain, or a c_ id), a deal's d_ id, the time. */
static void test_name_hints(void)
{
	struct crm_call_hints h = { 0 };
	time_t t;

	crm_call_name_hints("in/jane.doe@acme.co.uk_2026-11-19T15-30.wav", &h);
	is_str(h.contact, "jane.doe@acme.co.uk", "an email in the name, its .wav left off");
	ok(crm_call_time("2026-11-19T15:30", &t) == 0 && h.at == t, "the time in the name");
	memset(&h, 0, sizeof h);
	crm_call_name_hints("c_01m98wpwwx3665zz-d_01m98wpx3mkmpx93.vtt", &h);
	is_str(h.contact, "c_01m98wpwwx3665zz", "a contact's id");
	is_str(h.deal, "d_01m98wpx3mkmpx93", "a deal's id");
	ok(h.at == 0, "no time in it");
	ok(crm_call_time("2026-13-01", &t) < 0, "month 13 is no time");
	ok(crm_call_time("2026-11-20 10:30:15Z", &t) == 0 && t % 60 == 15, "seconds taken");
}

int main(void)
{
	test_name_hints();
	test_due();
	test_workdays();
	test_sentiment();
	test_formats();
	test_labels();
	test_roles();
	test_classes();
	test_long_call();
	test_lm();
	test_audio();
	return done_testing();
}
