/*
 * callan.c - call analysis by rules over folded words.
 *
 * Each utterance is cut into sentences, each sentence into lower-case words
 * with contractions expanded. Phrases are word sequences where "a|b" is an
 * alternative and "*" any one word.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "callan.h"
#include "when.h"
#include "words.h"

const char *const crm_tracker_names[CRM_NTRK] = {
	"pricing", "budget", "timeline", "competitor", "authority", "integration",
	"security",
};

const char *crm_owner_name(enum crm_owner o)
{
	return o == CRM_OWNER_REP ? "rep" : o == CRM_OWNER_CUSTOMER ? "customer" : "unknown";
}

/* Sentences. */

struct sent {
	size_t utt;
	const char *s;
	size_t n;
	struct crm_words w;
	int question;
	enum crm_owner role;
	double score;
};

/* Append s[0..n) with the word "you" made other's name ("your":
 * other's), for a sentence told by a third person. */
static void retell(struct crm_buf *b, const char *s, size_t n, const char *other)
{
	for (size_t i = 0; i < n;) {
		int start = i == 0 || !isalpha((unsigned char)s[i - 1]);

		if (start && n - i >= 4 && !strncasecmp(s + i, "your", 4) &&
		    (n - i == 4 || !isalpha((unsigned char)s[i + 4]))) {
			crm_buf_addf(b, "%s's", other);
			i += 4;
		} else if (start && n - i >= 3 && !strncasecmp(s + i, "you", 3) &&
			   (n - i == 3 || !isalpha((unsigned char)s[i + 3]))) {
			crm_buf_adds(b, other);
			i += 3;
		} else {
			crm_buf_addc(b, s[i++]);
		}
	}
}

/* An item as a clause: "Dev will send Sofia the contract" where it was
 * said as "I will ..." or "I'll ...", an ask as "Dev asked Sofia: ...",
 * else the words quoted. */
static void item_clause(struct crm_buf *b, const struct crm_action *it, const char *rep,
			const char *cust)
{
	static const char *const first[] = { "i will ", "i'll ", "we will ", "we'll " };
	const char *s = it->text;
	/* Who said it: an ask is said to the side that owns it. */
	const char *who = it->speaker ? it->speaker : (it->owner == CRM_OWNER_REP) != !!it->request ? rep : cust;
	const char *other = who == rep || (it->speaker && rep && !strcmp(it->speaker, rep)) ? cust : rep;
	size_t n = strlen(s);

	if (!it->request)	/* from the commitment on: "Absolutely, I will ..." */
		for (size_t k = 0; k < sizeof first / sizeof *first; k++)
			for (const char *p = s; *p; p++)
				if ((p == s || p[-1] == ' ') && !strncasecmp(p, first[k], strlen(first[k]))) {
					const char *rest = p + strlen(first[k]);
					size_t m = strlen(rest);

					while (m && strchr(".!? ", rest[m - 1]))
						m--;
					crm_buf_addf(b, "%s will ", who);
					retell(b, rest, m, other);
					return;
				}
	while (n && strchr(".!? ", s[n - 1]))
		n--;
	if (it->request)
		crm_buf_addf(b, "%s asked %s: \"%.*s\"", who, other, (int)n, s);
	else
		crm_buf_addf(b, "%s: \"%.*s\"", who, (int)n, s);
}

char *crm_call_summary(const struct crm_analysis *a, const char *rep_name,
		       const char *customer_name, const char *best, size_t nbest)
{
	struct crm_buf b = { 0 };
	const char *rep = a->rep, *cust = NULL;
	int agreed = 0, open = 0;

	for (size_t i = 0; i < a->ntalk; i++) {
		if (a->talk[i].role == CRM_OWNER_CUSTOMER && !cust)
			cust = a->talk[i].speaker;
		if (a->talk[i].role == CRM_OWNER_REP && !rep)
			rep = a->talk[i].speaker;
	}
	if (!rep && rep_name && *rep_name)
		rep = rep_name;
	if (!cust && customer_name && *customer_name)
		cust = customer_name;
	/* Who. */
	if (rep && cust)
		crm_buf_addf(&b, "%s spoke with %s.", rep, cust);
	else if (cust)
		crm_buf_addf(&b, "A call with %s.", cust);
	else if (rep)
		crm_buf_addf(&b, "A call by %s.", rep);
	else
		crm_buf_adds(&b, "A call.");
	if (b.data)	/* a name as the records hold it may be lower case */
		b.data[0] = (char)toupper((unsigned char)b.data[0]);
	if (!rep)
		rep = "the rep";
	if (!cust)
		cust = "the customer";
	/* What was agreed: commitments, two at most. */
	for (size_t i = 0; i < a->nitems && agreed < 2; i++) {
		const struct crm_action *it = &a->items[i];

		if (it->request)
			continue;
		crm_buf_adds(&b, agreed++ ? "; " : " Agreed: ");
		item_clause(&b, it, rep, cust);
		if (it->due_phrase)
			crm_buf_addf(&b, " (due %s)", it->due);
	}
	if (agreed)
		crm_buf_addc(&b, '.');
	/* What is open: asks not yet taken up, two at most. */
	for (size_t i = 0; i < a->nitems && open < 2; i++) {
		const struct crm_action *it = &a->items[i];

		if (!it->request)
			continue;
		crm_buf_adds(&b, open++ ? "; " : " Open: ");
		item_clause(&b, it, rep, cust);
	}
	if (open)
		crm_buf_addc(&b, '.');
	/* The hesitation and its cues, by kind, once each. */
	if (a->hesitant) {
		int n = 0;

		crm_buf_addf(&b, " %c%s sounded hesitant", toupper((unsigned char)cust[0]), cust + 1);
		/* The three weightiest kinds, each by its weightiest cue. */
		const char *used[3] = { 0 };

		while (n < 3) {
			const struct crm_cue *c = NULL;

			for (size_t i = 0; i < a->ncues; i++) {
				int seen = 0;

				for (int j = 0; j < n; j++)
					seen |= !strcmp(used[j], a->cues[i].kind);
				if (!seen && (!c || a->cues[i].weight > c->weight))
					c = &a->cues[i];
			}
			if (!c)
				break;
			used[n] = c->kind;
			crm_buf_addf(&b, "%s%s (\"%s\")", n++ ? ", " : ": ", c->kind, c->cue);
		}
		crm_buf_addc(&b, '.');
	} else if (a->sentiment_label && strcmp(a->sentiment_label, "neutral")) {
		crm_buf_addf(&b, " %c%s sounded %s.", toupper((unsigned char)cust[0]), cust + 1,
			     a->sentiment_label);
	}
	if (!agreed && !open && !a->hesitant && best && nbest)
		crm_buf_addf(&b, " Nothing agreed or asked; the key moment: \"%.*s\"", (int)nbest, best);
	if (!b.data)
		return strdup("");
	return crm_buf_detach(&b, NULL);
}

/* Split text into sentences at . ? ! (not inside numbers like 2.5). */
static int split(const char *text, size_t utt, enum crm_owner role, struct sent **out,
		 size_t *n, size_t *alloc)
{
	const char *p = text, *start = text;

	for (;; p++) {
		int end = !*p;
		if (!end && (*p == '.' || *p == '?' || *p == '!' || *p == ';'))
			end = !(p > text && isdigit((unsigned char)p[-1]) && isdigit((unsigned char)p[1]));
		if (!end)
			continue;
		const char *s = start, *e = *p ? p + 1 : p;
		while (s < e && isspace((unsigned char)*s))
			s++;
		if (e > s) {
			if (*n == *alloc) {
				/* Not realloc: each sentence's words point into
				 * its own buffer, so a moved sentence gets its
				 * pointers moved with it. */
				size_t na = *alloc ? *alloc * 2 : 64;
				struct sent *ns = malloc(na * sizeof *ns);
				if (!ns)
					return -1;
				for (size_t k = 0; k < *n; k++) {
					ns[k] = (*out)[k];
					crm_words_move(&ns[k].w, &(*out)[k].w);
				}
				free(*out);
				*out = ns;
				*alloc = na;
			}
			struct sent *st = &(*out)[(*n)++];
			memset(st, 0, sizeof *st);
			st->utt = utt;
			st->s = s;
			st->n = (size_t)(e - s);
			st->role = role;
			st->question = *p == '?';
			crm_words_fold(s, st->n, &st->w);
			if (!st->w.n)
				(*n)--;
		}
		if (!*p)
			break;
		start = p + 1;
	}
	return 0;
}

/* Sentiment: a small lexicon, negation and intensity (after VADER). */

static const struct { const char *ph; double v; } LEX[] = {
	/* phrases first: they win over their words */
	{"no problem", 1.5}, {"not bad", 1.0}, {"no worries", 1.2}, {"makes sense", 1.2},
	{"sounds good", 1.8}, {"sounds great", 2.4}, {"works for us|me", 1.5},
	{"exactly what", 1.8}, {"too expensive", -2.4}, {"too high", -2.0},
	{"too slow", -2.0}, {"too much", -1.2}, {"not happy", -2.0}, {"not convinced", -1.6},
	{"not sure", -0.6}, {"move forward", 1.2}, {"look forward", 1.5},
	{"bad experience", -2.0}, {"went up", -0.8}, {"on hold", -1.0},
	{"great", 2.2}, {"love|loved|loves", 2.6}, {"perfect", 2.6}, {"excellent", 2.8},
	{"awesome", 2.6}, {"fantastic", 2.8}, {"amazing", 2.8}, {"excited", 2.0},
	{"happy", 2.0}, {"glad", 1.8}, {"helpful", 1.8}, {"impressed", 2.2},
	{"good", 1.6}, {"nice", 1.6}, {"like|liked|likes", 1.3}, {"thanks|thank", 1.2},
	{"appreciate", 1.8}, {"promising", 1.8}, {"interested", 1.2}, {"easy", 1.4},
	{"clear", 0.8}, {"valuable", 1.8}, {"value", 0.8}, {"fast|faster", 0.8},
	{"ready", 1.0}, {"absolutely", 1.2}, {"definitely", 1.0}, {"yes", 0.6},
	{"sure", 0.4}, {"fine", 0.8}, {"competitive", 0.6}, {"welcome", 1.4},
	{"bad", -2.4}, {"terrible", -3.0}, {"awful", -3.0}, {"hate|hates|hated", -2.8},
	{"problem|problems", -1.6}, {"issue|issues", -1.2}, {"concern|concerns|concerned", -1.2},
	{"worried|worry", -1.6}, {"expensive", -1.6}, {"difficult", -1.4}, {"hard", -0.8},
	{"slow", -1.4}, {"frustrated|frustrating", -2.2}, {"disappointed|disappointing", -2.4},
	{"annoying|annoyed", -2.0}, {"unfortunately", -1.4}, {"failed|fail", -2.0},
	{"cancel", -1.6}, {"lost", -1.4}, {"cut", -1.0}, {"layoffs", -1.6},
	{"complicated", -1.4}, {"confusing", -1.6}, {"limited", -1.0}, {"risk|risky", -1.2},
	{"unhappy", -2.2}, {"angry", -2.6}, {"broken", -2.0}, {"bug|bugs", -1.4},
	{"careful", -0.4}, {"pressure", -1.0}, {"tight", -0.8}, {"cheaper", -0.6},
	{"no", -0.4},
};

static double sentiment_words(const struct crm_words *w)
{
	double sum = 0;

	for (size_t i = 0; i < w->n; ) {
		size_t k = 0;
		double v = 0;
		for (size_t j = 0; j < sizeof LEX / sizeof *LEX; j++)
			if ((k = crm_match_at(w, i, LEX[j].ph))) {
				v = LEX[j].v;
				break;
			}
		if (!k) {
			i++;
			continue;
		}
		/* Intensity from the word before; negation within three before. */
		if (i > 0 && crm_word_in(w->w[i - 1], "very|really|so|extremely|super|totally|incredibly"))
			v *= 1.3;
		if (i > 1 && crm_match_at(w, i - 2, "a bit|little"))
			v *= 0.6;
		else if (i > 0 && crm_word_in(w->w[i - 1], "slightly|somewhat|quite"))
			v *= 0.7;
		for (size_t b = i > 3 ? i - 3 : 0; b < i; b++)
			if (crm_word_in(w->w[b], "not|never|cannot|no|nothing|hardly|without") &&
			    !(v > 0 && crm_match_at(w, i, "no problem|worries"))) {
				v *= -0.74;
				break;
			}
		sum += v;
		i += k;
	}
	return sum / sqrt(sum * sum + 15);
}

double crm_sentiment(const char *text)
{
	struct crm_words w;

	crm_words_fold(text, strlen(text), &w);
	return sentiment_words(&w);
}

const char *crm_sentiment_label(double s)
{
	return s >= 0.05 ? "positive" : s <= -0.05 ? "negative" : "neutral";
}

/* Hesitation cues: the customer holding back, not the customer unhappy. */

static const struct { const char *ph, *kind; double w; } HES[] = {
	{"not sure|certain", "uncertainty", 0.7}, {"i do not know", "uncertainty", 0.5},
	{"hard to say", "uncertainty", 0.6}, {"we will see", "uncertainty", 0.6},
	{"i guess", "uncertainty", 0.3}, {"not convinced", "uncertainty", 0.8},
	{"maybe|perhaps|possibly", "uncertainty", 0.35}, {"probably not", "uncertainty", 0.6},
	{"not ready", "timing", 0.7}, {"next year", "timing", 0.7},
	{"after the summer|holidays", "timing", 0.5}, {"next quarter", "timing", 0.3},
	{"revisit", "timing", 0.5}, {"not a priority", "timing", 0.8},
	{"wait until|for", "timing", 0.6}, {"hold off", "timing", 0.7},
	{"in a year", "timing", 0.6}, {"not looking to|for", "timing", 0.6},
	{"push it|this back", "timing", 0.6}, {"before then", "timing", 0.4},
	{"not right now", "timing", 0.7}, {"on hold", "timing", 0.9},
	{"not in a hurry", "timing", 0.4}, {"no rush", "timing", 0.4},
	{"too early", "timing", 0.5}, {"down the road", "timing", 0.5},
	{"think about it", "stall", 0.7}, {"think it over", "stall", 0.7},
	{"need some time", "stall", 0.6}, {"more time", "stall", 0.5},
	{"let me think", "stall", 0.6}, {"get back to you", "stall", 0.4},
	{"check with|ask finance|legal|procurement|accounting", "authority", 0.7},
	{"check with|ask my|our boss|manager|director|cfo|ceo|team|board|partner", "authority", 0.7},
	{"check with|ask the board|team", "authority", 0.7},
	{"run it|this by", "authority", 0.7}, {"sign off", "authority", 0.3},
	{"need|needs approval", "authority", 0.4}, {"discuss it|this|that with", "authority", 0.5},
	{"discuss it|this internally", "authority", 0.6}, {"talk to my|our", "authority", 0.5},
	{"no budget", "budget", 0.9}, {"budget is|was tight|cut|frozen|committed|spent|gone", "budget", 0.8},
	{"budget is|was already committed|spent", "budget", 0.8},
	{"budget is not approved", "budget", 0.8}, {"do not have|no the budget", "budget", 0.8},
	{"not in the budget", "budget", 0.8}, {"cannot afford", "budget", 0.9},
	{"afford it|this|that", "budget", 0.4}, {"budget", "budget", 0.2},
	{"too expensive", "price", 0.6}, {"too high", "price", 0.5},
	{"more expensive", "price", 0.5}, {"cheaper", "price", 0.4},
	{"another|other vendor|vendors|provider|providers|option|options|solution|tool", "competition", 0.6},
	{"a competitor", "competition", 0.5}, {"evaluating|comparing", "competition", 0.4},
	{"worried|concerned", "risk", 0.3}, {"hiring freeze", "budget", 0.7},
	/* Deferral: pushing, postponing, taking it up later. */
	{"might|may|could push|delay|postpone|defer|move", "timing", 0.6},
	{"push|pushing|delay|delaying|postpone|postponing|defer|deferring it|this|that|things", "timing", 0.6},
	{"next financial|fiscal|budget year", "timing", 0.7}, {"take it|this up again|later", "timing", 0.5},
	{"after q1|q2|q3|q4", "timing", 0.5}, {"will take some|a time", "timing", 0.5},
	{"come back to it|this|that", "timing", 0.4},
	/* Not committing, not deciding. */
	{"let us see", "uncertainty", 0.6}, {"see how it goes", "uncertainty", 0.5},
	{"not promising|committing", "uncertainty", 0.7}, {"cannot promise|commit", "uncertainty", 0.7},
	{"not want|like to commit", "uncertainty", 0.7}, {"no promises", "uncertainty", 0.5},
	{"nothing is fixed|decided|final|settled", "uncertainty", 0.6},
	{"difficult|tricky|tough", "uncertainty", 0.4},
	/* Looking elsewhere. */
	{"other|more|another|alternative quote|quotes|carrier|carriers|supplier|suppliers|bid|bids|offer|offers|vendors|providers", "competition", 0.6},
	{"alternatives", "competition", 0.5},
	{"test|tested|testing the market", "competition", 0.6},
	/* Someone else decides. */
	{"board|management|committee|office will|would|needs|need|has|have want|to|approve|approval", "authority", 0.5},
	{"with management|the board", "authority", 0.5}, {"gets|get|be approved", "authority", 0.4},
	/* Money. */
	{"cash|money|funds|budget|budgets is|are|was|were tight|limited|frozen|short|constrained", "budget", 0.8},
	{"that|it|which is a lot", "price", 0.4}, {"steep|pricey|costly", "price", 0.4},
	{"um|uh|hmm|erm|er", "filler", 0.1},
};

/* Buying signals weigh against hesitation. */
static const char *const COMMIT[] = {
	"ready to sign|move|go|start", "move forward|ahead", "let us do it|this|that",
	"sounds great|perfect", "exactly what we need", "we want to sign|start|move",
	"send the contract|order|agreement", "we are ready", "go ahead", "signed",
	"we will take it", "count us in", "we are in", "loved|love the",
	/* a decision, either way, ends the hesitating */
	"we|i went|go with", "we|i chose|picked|selected", "decided to go|stay|sign",
	"decided against",
	/* eagerness */
	"keen|eager|excited to", "like|want to be live|start|roll|go|get",
	"team|everyone loved|liked|love|like",
};
/*
 * Enthusiasm in any words: a customer sentence the sentiment lexicon
 * finds clearly warm, with no doubt in it, weighs against hesitation
 * like a buying signal does, so one idiom of liking ("the team were
 * taken with it") counts as another would.
 */
#define WARM 0.5

/* Action items. */

/*
 * Who will act, and how. A commitment binds the speaker ("I will", "we're
 * going to", "let me"); an offer only says the speaker could ("I can",
 * "we'd be happy to") and a proposal puts a plan to the other side ("how
 * about a trial?", "shall we...", "do you want me to..."): both become
 * items only when the other side takes them up. A request asks the other
 * side to act.
 */
enum { ACT_COMMIT, ACT_REQUEST, ACT_OFFER, ACT_PROPOSAL };
static const char *const COMMIT_TRIG[] = {
	"i|we will", "i|we am|are going to", "i|we shall", "let me",
	"i|we need to", "i|we have to", "i|we must", "i|we should", "i|we plan to",
	"my|our team will", "i|we will make sure to",
	"let us", "i|we want to make sure to|we",
};
static const char *const OFFER_TRIG[] = {
	"i|we can", "i|we could", "i|we would be happy|glad to", "i|we am|are happy|glad to",
};
static const char *const PROPOSE_TRIG[] = {
	"how about", "shall|should we|i", "what if we|i", "why do not we|i",
	"would you like me|us to", "do you want me|us to", "want me|us to",
};
/*
 * Acts done in the conversation itself, not after it: presenting ("let
 * me show you the dashboard", "I'll pull up the report"), moving about
 * ("let's walk over to the line", "please take a seat") and steering the
 * talk ("let's start with", "I'll recap"). With no time ahead named, they
 * are done as they are said.
 */
static const char *const IN_CALL =
	"show|walk|pull|display|demo|demonstrate|scroll|click|zoom|switch|"
	"jump|turn|head|step|sit|start|begin|recap|summarise|summarize|explain|"
	"introduce|clarify|repeat|come|move|grab|pause|wrap";
static const char *const REQ_TRIG[] = {
	"could|can|would|will you be able to", "are you able to", "would you mind",
	"could|can|would|will you", "please", "you will need to", "you need to",
	"i need you to", "if you could", "for you to", "you will", "you can",
	"make sure you", "do not forget to", "you should", "would you mind",
	"you are going to",
};
/*
 * The verb after a trigger is open: any word is an action, except the
 * verbs of thinking, feeling and being, verbs of waiting, and words that
 * are not verbs at all. A closed list of action verbs misses every verb
 * of a trade it was not written for ("bind cover", "countersign", "ring
 * you", "preload the fee stages").
 */
static const char *const NOT_VERBS =
	/* thinking, feeling, perceiving, being, wanting, intending */
	"be|been|being|am|is|are|was|were|think|see|hear|say|know|understand|imagine|"
	"guess|bet|admit|agree|remember|forget|love|like|want|wish|hope|believe|feel|"
	"mean|need|appreciate|assume|suppose|expect|promise|tell|notice|recall|"
	"wonder|worry|doubt|mind|care|prefer|enjoy|afford|stand|live|survive|aim|"
	"intend|plan|mute|"
	/* waiting and having (have: only with a deadline, below) */
	"wait|watch|keep|stay|hold|leave|stop|let|have|has|had|try|go|come|sleep|"
	"relax|manage|help|do|does|did|done|buy|pay|take|use|win|lose";
/* Words that are not verbs, nor the object of one. */
static const char *const FUNC =
	"the|a|an|this|that|these|those|it|its|you|your|him|her|them|us|me|my|our|"
	"their|his|there|here|what|which|who|whom|how|why|where|when|not|never|so|to|"
	"of|for|in|on|at|with|by|from|about|as|and|or|but|if|then|now|today|tomorrow|"
	"yes|no|okay|ok|right|well|all|both|each|every|some|any|more|most|very|too|"
	"much|many|also|just|only|even|again|always|definitely|probably|absolutely|"
	"sure|certainly|maybe|perhaps|surely|um|uh|hmm|er|erm|like|kind|sort|bit|"
	"either|neither|one|i|we|he|she|they|will|would|can|could|should|shall|must|"
	"may|might|please|go|ahead|thanks|thank|up|out|down|off|over|back|into|onto";
/*
 * Verbs in the list above that still act in some turns: "do the import",
 * "pay the invoice", "take it to my director", "help you set up", "keep
 * you posted"; they act when an object follows that is not a pronoun
 * alone ("we can do it", "I'll take it" are assents).
 */
static const char *const WEAK_VERBS = "do|pay|take|buy|use|help|keep|try|have";
/* In-call asks and small talk that look like requests or commitments. */
static const char *const NOT_ACTION[] = {
	"can|could you tell|hear|see|walk|explain|describe|elaborate|clarify me|us|that|what",
	"can|could you tell|hear|see|explain|describe|elaborate",
	"i|we can see|hear|tell|understand|imagine|say",
	"you can see|hear", "let me share my screen", "let me see", "let me know",
	"let me ask|tell|explain|show|walk|be|just|start|introduce myself",
	"let us get started|start|begin|see", "i will be honest|out", "please let me know",
	"thank you", "can i", "could i", "you can also", "i need to think",
	"we need to think", "can you walk me through", "could you walk me through",
	"would you say", "i can imagine", "you can cancel", "can we cancel",
	"i will take it", "we will take it", "we can do it", "if you can",
	"you can add", "you will see", "you can use", "you will get",
	"i will give you an|a overview|idea|example", "let me give you",
	"i can give you an|a overview|idea|example",
};

/* Objects that tell who acts when the speaker is unknown. */
static const char *const CUSTOMER_SIDE[] = {
	"check with", "talk to", "discuss", "run it|this by", "approval", "sign|signed",
	"purchase order", "po", "requirements", "questionnaire", "redlines", "internally",
	"budget", "think", "decide", "feedback", "our|my team", "my boss|manager",
	"legal", "procurement", "finance", "the board", "evaluate", "compare",
};
static const char *const REP_SIDE[] = {
	"proposal", "quote", "pricing|price|prices", "contract", "case study|studies",
	"documentation|docs", "slides|deck", "invoice", "demo", "trial", "recap",
	"summary", "order form", "invite|invitation", "white paper", "reference|references",
	"calculator", "discount", "onboarding", "agreement", "notes", "sandbox",
};

static int is_trigger_word(const char *x)
{
	return crm_word_in(x, "will|going|need|have|must|should|plan|happy|make|sure|want|let");
}

/* Does the word at v start an action ("send the deck", not "see")? */
static int is_action(const struct crm_words *w, size_t v)
{
	const char *x = w->w[v];

	if (!strcmp(x, "let"))
		return crm_match_at(w, v + 1, "me|us|you know") > 0;
	if (!strcmp(x, "try") && crm_match_at(w, v + 1, "to"))	/* "I'll try to send" */
		return v + 2 < w->n && is_action(w, v + 2);
	if (!strcmp(x, "have") || !strcmp(x, "keep")) {
		if (v + 1 >= w->n || crm_word_in(w->w[v + 1], "to|a|an|been|no|any|got|some|questions|concerns"))
			return 0;
		/* "have it to you by Friday", "keep you posted" */
		if (crm_date_after(w, v + 1) || crm_find(w, v + 1, "posted|updated|informed|in the loop") >= 0)
			return 1;
		/* "have biomed send you the serials": someone made to act */
		for (size_t j = v + 2; j < w->n && j <= v + 4; j++)
			if (!crm_word_in(w->w[j], FUNC) && !crm_word_in(w->w[j], NOT_VERBS) && j + 1 < w->n &&
			    crm_word_in(w->w[j + 1], "you|us|the|out|over|them|it|me|up"))
				return 1;
		return 0;
	}
	/* "I'll be on site on the 28th": being somewhere, at a time. */
	if (!strcmp(x, "be"))
		return crm_match_at(w, v + 1, "on site|onsite|there|in|at|over|back") && crm_date_after(w, v + 1);
	if (crm_word_in(x, WEAK_VERBS))
		return v + 1 < w->n && !(crm_word_in(w->w[v + 1], "it|that|this|them|so|something|anything|care|a") &&
					 v + 2 >= w->n);
	if (crm_match_at(w, v, "go back to"))
		return 1;
	if (!strcmp(x, "look"))	/* "look into it", not "look out for" */
		return v + 1 < w->n && !crm_word_in(w->w[v + 1], "out|forward|at|like|good|great|fine");
	if (crm_word_in(x, NOT_VERBS) || crm_word_in(x, FUNC))
		return 0;
	/* A number, a date or a word that is not a word. */
	return isalpha((unsigned char)x[0]) || (unsigned char)x[0] >= 0x80;
}

/*
 * Does the verb at v act on something: a word after it, before the next
 * trigger, that is not a pronoun or a particle ("I'll confirm", "let's fix
 * it, then", "we can work on that" name nothing to do).
 */
static int has_object(const struct crm_words *w, size_t v)
{
	for (size_t j = v + 1; j < w->n; j++) {
		if (crm_match_at(w, j, "i|we|you will|can|shall") || crm_match_at(w, j, "let me|us"))
			break;
		if (crm_match_at(w, j, "back to"))	/* "get back to you", "go back to them" */
			return 1;
		/* "check with them", "talk to him": people are something to
		 * act on ("talk to you soon" is a goodbye) */
		if (crm_match_at(w, j, "with|to him|her|them|you|us|everyone|someone"))
			return !(j + 2 < w->n && crm_word_in(w->w[j + 2], "soon|later"));
		if (!crm_word_in(w->w[j], FUNC))
			return 1;
	}
	return 0;
}

/* Action item in sentence s (clause from position from), 1 if found. */
static int action_in(const struct crm_words *w, size_t from, int question, int *kind, size_t *at,
		     int *pron)
{
	*pron = 0;
	for (size_t i = from; i < w->n; i++) {
		size_t k = 0;
		int req = 0, how = ACT_COMMIT;
		for (size_t j = 0; !k && j < sizeof COMMIT_TRIG / sizeof *COMMIT_TRIG; j++)
			k = crm_match_at(w, i, COMMIT_TRIG[j]);
		for (size_t j = 0; !k && j < sizeof REQ_TRIG / sizeof *REQ_TRIG; j++)
			if ((k = crm_match_at(w, i, REQ_TRIG[j])))
				req = 1, how = ACT_REQUEST;
		for (size_t j = 0; !k && j < sizeof OFFER_TRIG / sizeof *OFFER_TRIG; j++)
			if ((k = crm_match_at(w, i, OFFER_TRIG[j])))
				how = ACT_OFFER;
		for (size_t j = 0; !k && j < sizeof PROPOSE_TRIG / sizeof *PROPOSE_TRIG; j++)
			if ((k = crm_match_at(w, i, PROPOSE_TRIG[j])))
				how = ACT_PROPOSAL;
		if (!k)
			continue;
		/* "Is there anything I can send?" asks, it does not commit. */
		int skip = question && how != ACT_REQUEST && how != ACT_PROPOSAL;
		/* "a summary you can share" is a relative clause, not a request:
		 * a bare "you" starts a clause or follows a conjunction. */
		if (req && !strcmp(w->w[i], "you") && i > 0 &&
		    !crm_word_in(w->w[i - 1], "and|so|then|but|now|also|okay|ok|great|sure|yes|next|please|that|if"))
			skip = 1;
		for (size_t j = 0; j < sizeof NOT_ACTION / sizeof *NOT_ACTION; j++)
			if (crm_match_at(w, i, NOT_ACTION[j]) || (i > 0 && crm_match_at(w, i - 1, NOT_ACTION[j])))
				skip = 1;
		/* "if you could sign...", "so we can pay" are conditions and
		 * purposes; "we will not" is a refusal. */
		for (size_t b = i > 3 ? i - 3 : 0; b < i; b++)
			if (crm_word_in(w->w[b], "if|unless|when|once|whether|before|after|until|because|since"))
				skip = 1;
		/* "so (that) we can pay" is a purpose; "so I'll send it" goes on. */
		if ((i > 0 && !strcmp(w->w[i - 1], "so") && i + 1 < w->n && crm_word_in(w->w[i + 1], "can|could")) ||
		    (i > 1 && crm_match_at(w, i - 2, "so that")))
			skip = 1;
		/* "I'm not sure we'll renew", "I think we can fill it": a
		 * belief about what may happen, not a commitment. */
		for (size_t b = i > 3 ? i - 3 : 0; b < i; b++)
			if (crm_word_in(w->w[b], "think|doubt|believe|guess|suppose|reckon|expect|hope") ||
			    (b > 0 && !strcmp(w->w[b], "sure") && crm_word_in(w->w[b - 1], "not|am|are|is|pretty|quite")))
				skip = 1;
		/* "I'll see what I can share": a clause inside another. */
		if (i > 0 && crm_word_in(w->w[i - 1], "what|how|which|whatever|anything|something"))
			skip = 1;
		if (i + k < w->n && crm_word_in(w->w[i + k], "not|never"))
			skip = 1;
		if (skip) {
			i += k - 1;
			continue;
		}
		/* "how about a two-week trial": the plan is a noun phrase */
		if (how == ACT_PROPOSAL && crm_match_at(w, i, "how about") && has_object(w, i + 1)) {
			*kind = how;
			*at = i;
			return 1;
		}
		/* The verb: within three words ("go ahead and send"). */
		for (size_t v = i + k; v < w->n && v <= i + k + 3; v++) {
			if (crm_word_in(w->w[v], "please|go|ahead|and|both|all") &&
			    !crm_match_at(w, v, "go back to"))
				continue;
			/* "I'll be sending the deck": the progressive future
			 * acts by its -ing verb */
			if (!strcmp(w->w[v], "be") && v + 1 < w->n && strlen(w->w[v + 1]) > 5 &&
			    !strcmp(w->w[v + 1] + strlen(w->w[v + 1]) - 3, "ing") &&
			    !crm_word_in(w->w[v + 1], "going|being|thinking|hoping|wondering|looking|waiting|"
					 "expecting|planning|meeting|travelling|traveling"))
				continue;
			int now = (crm_word_in(w->w[v], IN_CALL) ||
				   crm_match_at(w, v, "take|have a seat|look|moment|minute|second|break")) &&
				  !crm_date_after(w, v) && !crm_match_at(w, v, "go back to|over");
			if (is_action(w, v) && !now && has_object(w, v)) {
				*kind = how;
				*at = i;
				return 1;
			}
			/* "I'll send it over tomorrow": a pronoun for the thing;
			 * an item only where something said names it. */
			if (is_action(w, v) && !now && crm_match_at(w, v + 1, "it|that|this|them|those|these")) {
				*kind = how;
				*at = i;
				*pron = 1;
				return 1;
			}
			break;
		}
		i += k - 1;
	}
	return 0;
}

/* Adverbs that sit inside the phrases actions are found by ("I also need to"). */
static void strip_adverbs(const struct crm_words *w, struct crm_words *out)
{
	out->n = 0;
	for (size_t i = 0; i < w->n; i++)
		if (!crm_word_in(w->w[i], "also|just|really|actually|definitely|probably|certainly|"
			     "quickly|then|still|personally|happily|gladly|first"))
			out->w[out->n++] = w->w[i];
}

/* Roles. */

/* Titles that come before a name and say nothing of who the person is. */
static const char *const TITLES = "mr|mrs|ms|mx|miss|dr|prof|sir|dame|rev|hon|mme|mlle|herr|frau";

/*
 * The name tokens of a speaker label, lower case, letters and digits only,
 * titles dropped: "Dr. Ada Okafor" is "ada okafor", "J.P." is "jp".
 */
static size_t name_tokens(const char *s, char tok[][24], size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		size_t k = 0;
		while (*s && (*s == ' ' || *s == '(' || *s == ')' || *s == '[' || *s == ']' || *s == '-'))
			s++;
		for (; *s && *s != ' ' && *s != '-' && *s != '(' && *s != ')'; s++)
			if ((isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80) && k + 1 < sizeof tok[0])
				tok[n][k++] = (char)tolower((unsigned char)*s);
		tok[n][k] = 0;
		if (k && !crm_word_in(tok[n], TITLES))
			n++;
	}
	return n;
}

/*
 * Do two labels name one person? Every name token of the shorter occurs
 * in the longer: "Priya" is "Priya Shah", "Okafor" is "Dr. Okafor".
 */
static int same_person(const char *a, const char *b)
{
	char ta[6][24], tb[6][24];
	size_t na = name_tokens(a, ta, 6), nb = name_tokens(b, tb, 6);

	if (!na || !nb)
		return !strcasecmp(a, b);
	if (na > nb)
		return same_person(b, a);
	for (size_t i = 0; i < na; i++) {
		int hit = 0;
		for (size_t j = 0; j < nb && !hit; j++)
			hit = !strcmp(ta[i], tb[j]);
		if (!hit)
			return 0;
	}
	return 1;
}

/* Does a label say a role ("Sales Rep", "Agent 2", "Customer")? Whole words. */
static int label_says(const char *s, const char *words)
{
	char tok[6][24];
	size_t n = name_tokens(s, tok, 6);

	for (size_t i = 0; i < n; i++) {
		/* "SPEAKER_AGENT", "agent1": the letters of the token */
		char *d = tok[i];
		size_t k = strlen(d);
		while (k && isdigit((unsigned char)d[k - 1]))
			d[--k] = 0;
		if (crm_word_in(d, words))
			return 1;
	}
	return 0;
}

static const char *const REP_LABELS = "rep|agent|sales|seller|salesperson|host|ae|sdr|bdr|"
				      "representative|advisor|consultant|vendor|account|support";
static const char *const CUSTOMER_LABELS = "customer|client|prospect|buyer|lead|caller|guest|"
					   "user|member|patient|buyer";

/*
 * What a seller says and a buyer does not, by class of English: the
 * seller speaks of what is sold as theirs and prices it; the buyer speaks
 * of it as the other's, and of their own budget, bosses and incumbents.
 * Each is a phrase over folded words.
 */
static const char *const SELLS[] = {
	/* what is sold, as ours */
	"our product|products|platform|solution|solutions|software|pricing|plans|package|packages|offering|subscription|subscriptions|onboarding|licence|licences|license|licenses|tiers|rates|implementation|app|tool|service|services|system",
	/* selling and supplying */
	"we offer|charge|sell|provide|bill|license|install|supply|ship|integrate|support|include",
	"i|we can offer|include|throw|waive|extend|discount",
	/* prices */
	"per month|seat|seats|user|users|year|licence|license|head|unit|site|annum",
	"how about a|an", "would you like a|an|to see|me to",
	/* sending the papers of the sale */
	"send|email|forward|share the|a|an|our contract|quote|proposal|pricing|invoice|agreement|sow",
	"send|email|forward|share the|a|an|our revised|updated|new|final|draft contract|quote|proposal|pricing|invoice|agreement",
	"send|email|forward|share you the|a|an|our contract|quote|proposal|pricing|invoice|agreement",
	/* introducing oneself as calling from a company */
	"calling|reaching out from|about", "i am calling",
};
static const char *const BUYS[] = {
	"your product|products|platform|solution|solutions|software|pricing|price|prices|plans|package|tool|app|offering|quote|proposal|offer",
	/* the buyer compares */
	"another|other|second supplier|vendor|provider|offer|quote|bid",
	"how much does|is|would|will|do",
	"our|my budget|board|cfo|ceo|boss|procurement|director|current|existing|incumbent|vendor|provider|supplier",
	"we currently|we are currently|we use|we are using|we have been using",
};

#define MAXSPK 16
struct roles {
	const char *spk[MAXSPK];	/* distinct labels, first seen first */
	size_t n;
	double sells[MAXSPK];		/* evidence of selling, log-odds */
	enum crm_owner role[MAXSPK];
	int rep;			/* index of the rep, -1 unknown */
	double confidence;		/* that rep is the rep */
	const char *basis;		/* "given", "label", "words" */
};

static int spk_index(const struct roles *r, const char *speaker)
{
	for (size_t i = 0; speaker && i < r->n; i++)
		if (!strcmp(r->spk[i], speaker))
			return (int)i;
	return -1;
}

/*
 * The rep's side beyond the rep: a speaker the rep brings to the call
 * ("I've got Ngozi with me, she's our solutions engineer", "my colleague
 * Beth") speaks for the seller.
 */
static void find_team(const struct crm_transcript *t, struct roles *r)
{
	for (size_t i = 0; i < t->n; i++) {
		struct crm_words w;

		if (spk_index(r, t->u[i].speaker) != r->rep)
			continue;
		crm_words_fold(t->u[i].text, strlen(t->u[i].text), &w);
		for (size_t x = 0; x < r->n; x++) {
			char tok[6][24];

			if ((int)x == r->rep || r->role[x] == CRM_OWNER_REP || !name_tokens(r->spk[x], tok, 6))
				continue;
			for (size_t j = 0; j < w.n; j++) {
				if (strcmp(w.w[j], tok[0]))
					continue;
				/* "Ngozi with me", "my colleague Beth", "Beth,
				 * our solutions engineer", "joined by Sam" */
				if (crm_match_at(&w, j + 1, "with me|us") || crm_match_at(&w, j + 1, "our|my") ||
				    crm_match_at(&w, j + 1, "is|who is our|my") ||
				    (j > 0 && crm_word_in(w.w[j - 1], "colleague|colleagues|teammate|by|engineer|manager|partner")) ||
				    (j > 1 && crm_match_at(&w, j - 2, "got|have|brought|with|joining")) ||
				    (j > 1 && crm_match_at(&w, j - 2, "with me|us"))) {
					r->role[x] = CRM_OWNER_REP;
					break;
				}
			}
		}
	}
}

/*
 * Who sells. In order of evidence: the rep named by the caller (--rep,
 * the CRM's owner of the contact), a label that says the role ("Agent",
 * "Customer"), then the words: each speaker's sentences that speak as a
 * seller against those that speak as a buyer, and a small prior for who
 * opens the call. With no label and too little in the words, the rep is
 * unknown and the owners of items come from what the items are.
 */
static void find_roles(const struct crm_transcript *t, const char *rep, struct roles *r)
{
	memset(r, 0, sizeof *r);
	r->rep = -1;
	for (size_t i = 0; i < t->n; i++)
		if (t->u[i].speaker && spk_index(r, t->u[i].speaker) < 0 && r->n < MAXSPK)
			r->spk[r->n++] = t->u[i].speaker;
	if (rep) {
		for (size_t i = 0; i < r->n && r->rep < 0; i++)
			if (!strcasecmp(r->spk[i], rep))
				r->rep = (int)i;
		for (size_t i = 0; i < r->n && r->rep < 0; i++)
			if (same_person(r->spk[i], rep))
				r->rep = (int)i;
		r->basis = "given";
		r->confidence = r->rep >= 0 ? 1 : 0;
	}
	if (r->rep < 0) {
		int labelled = 0;
		for (size_t i = 0; i < r->n; i++) {
			int s = label_says(r->spk[i], REP_LABELS), c = label_says(r->spk[i], CUSTOMER_LABELS);
			if (s != c) {
				labelled = 1;
				r->role[i] = s ? CRM_OWNER_REP : CRM_OWNER_CUSTOMER;
				if (s && r->rep < 0)
					r->rep = (int)i;
			}
		}
		if (labelled) {
			for (size_t i = 0; i < r->n; i++)
				if (!r->role[i])
					r->role[i] = r->rep >= 0 ? CRM_OWNER_CUSTOMER : CRM_OWNER_REP;
			r->basis = "label";
			r->confidence = 1;
			if (r->rep < 0)
				for (size_t i = 0; i < r->n && r->rep < 0; i++)
					if (r->role[i] == CRM_OWNER_REP)
						r->rep = (int)i;
			find_team(t, r);
			return;
		}
	}
	if (r->rep < 0 && r->n >= 2) {
		for (size_t i = 0; i < t->n; i++) {
			int x = spk_index(r, t->u[i].speaker);
			struct crm_words w;
			if (x < 0)
				continue;
			crm_words_fold(t->u[i].text, strlen(t->u[i].text), &w);
			/* "this is Anita from Bondline", "Elena from VitaBand
			 * here": who names themselves with a company, early. */
			char tok[6][24];
			if (i < 4 && name_tokens(r->spk[x], tok, 6))
				for (size_t j = 0; j + 1 < w.n; j++)
					if (!strcmp(w.w[j], tok[0]) && crm_word_in(w.w[j + 1], "from|with|at|here")) {
						r->sells[x] += 1.5;
						break;
					}
			r->sells[x] += 0.7 * (double)crm_count_any(&w, SELLS, sizeof SELLS / sizeof *SELLS);
			r->sells[x] -= 0.7 * (double)crm_count_any(&w, BUYS, sizeof BUYS / sizeof *BUYS);
		}
		/* With no word for either side, who opens the call is the
		 * host (outbound calls): a guess, and said to be one. */
		int words = 0;
		for (size_t i = 0; i < r->n; i++)
			words |= r->sells[i] != 0;
		if (!words)
			r->sells[0] += 0.25;
		size_t best = 0, second = 1;
		for (size_t i = 1; i < r->n; i++)
			if (r->sells[i] > r->sells[best])
				second = best, best = i;
			else if (i != best && r->sells[i] > r->sells[second])
				second = i;
		double margin = r->sells[best] - r->sells[second];
		r->confidence = 1 / (1 + exp(-2 * margin));
		r->basis = words ? "words" : "opened the call";
		if (r->confidence >= 0.6)
			r->rep = (int)best;
	}
	if (r->rep < 0)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (!r->role[i])
			r->role[i] = (int)i == r->rep ? CRM_OWNER_REP : CRM_OWNER_CUSTOMER;
	find_team(t, r);
}

static enum crm_owner role_in(const struct roles *r, const char *speaker)
{
	int x = spk_index(r, speaker);

	return x < 0 || r->rep < 0 ? CRM_OWNER_UNKNOWN : r->role[x];
}

static const char *const TRACK[CRM_NTRK] = {
	"price|prices|pricing|cost|costs|discount|quote|expensive|cheaper|fee|fees|per seat|per user|dollars",
	"budget|budgets|afford|funds|funding|spend|fiscal",
	"timeline|deadline|go live|launch|start date|quarter|by january|by the end|this month|next month",
	"competitor|competitors|vendor|vendors|provider|alternative|alternatives|salesforce|hubspot|dynamics|incumbent",
	"decision maker|decision|approve|approval|sign off|board|ceo|cfo|vp|vice president|director|boss|procurement",
	"integrate|integration|integrations|api|erp|sync|connect|connector|migrate|migration|import|outlook|gmail|slack",
	"security|secure|gdpr|soc|encrypt|encrypted|encryption|sso|single sign on|compliance|compliant|privacy",
};

static size_t count_tracker(const struct crm_words *w, const char *spec)
{
	/* spec is "a|b c|d" where a space-free alternative is one word; phrases
	 * with spaces are checked whole. */
	size_t c = 0;
	const char *p = spec;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		char ph[64];
		snprintf(ph, sizeof ph, "%.*s", (int)len, p);
		for (long at = crm_find(w, 0, ph); at >= 0; at = crm_find(w, (size_t)at + 1, ph))
			c++;
		p += len + (bar != NULL);
	}
	return c;
}

static char *dup_range(const char *s, size_t n)
{
	char *o = crm_strndup(s, n);

	if (o)	/* drop a trailing comma or space */
		for (size_t k = strlen(o); k && (o[k - 1] == ' ' || o[k - 1] == ','); k--)
			o[k - 1] = 0;
	return o;
}

void crm_analysis_free(struct crm_analysis *a)
{
	free(a->summary);
	free(a->rep);
	for (size_t i = 0; i < a->nitems; i++) {
		free(a->items[i].text);
		free(a->items[i].speaker);
		free(a->items[i].due_phrase);
	}
	free(a->items);
	free(a->utt_sentiment);
	free(a->cues);
	for (size_t i = 0; i < a->ntalk; i++)
		free(a->talk[i].speaker);
	free(a->talk);
	free(a->fallback);
	json_decref(a->rules);
	json_decref(a->disagreements);
	json_decref(a->rejected);
	json_decref(a->agreement);
	memset(a, 0, sizeof *a);
}

/* A cue: the words w[at..at+k), or text when w is NULL. */
static int add_cue(struct crm_analysis *a, const struct crm_words *w, size_t at, size_t k,
		   const char *text, const char *kind, size_t utt, double weight)
{
	struct crm_cue *nc = realloc(a->cues, (a->ncues + 1) * sizeof *nc), *c;
	size_t o = 0;

	if (!nc)
		return -1;
	a->cues = nc;
	c = &a->cues[a->ncues++];
	memset(c, 0, sizeof *c);
	if (!w)
		snprintf(c->cue, sizeof c->cue, "%s", text);
	for (size_t j = at; w && j < at + k && o + 1 < sizeof c->cue; j++)
		o += (size_t)snprintf(c->cue + o, sizeof c->cue - o, "%s%s", j > at ? " " : "", w->w[j]);
	c->kind = kind;
	c->utt = utt;
	c->weight = weight;
	return 0;
}

static int talk_add(struct crm_analysis *a, const char *speaker, enum crm_owner role,
		    double secs, long words, double sent)
{
	for (size_t i = 0; i < a->ntalk; i++)
		if (!strcmp(a->talk[i].speaker, speaker)) {
			a->talk[i].seconds += secs;
			a->talk[i].sentiment += sent * (double)words;
			a->talk[i].words += words;
			return 0;
		}
	struct crm_talk *nt = realloc(a->talk, (a->ntalk + 1) * sizeof *nt);
	if (!nt)
		return -1;
	a->talk = nt;
	a->talk[a->ntalk] = (struct crm_talk){strdup(speaker), role, secs, words, 0,
					      sent * (double)words};
	if (!a->talk[a->ntalk].speaker)
		return -1;
	a->ntalk++;
	return 0;
}

/* The action items of sentence s, appended to a->items. */
static int sentence_actions(struct crm_analysis *a, const struct crm_transcript *t,
			    struct sent *s, const struct crm_callan_opts *o)
{
	struct crm_words wa;
	const struct crm_words *w = &wa;

	strip_adverbs(&s->w, &wa);
	size_t from = 0;
	int kind, pron;
	size_t at;
	while (from < w->n && action_in(w, from, s->question, &kind, &at, &pron)) {
		int request = kind == ACT_REQUEST;
		enum crm_owner owner;
		/* The clause runs to the next action ("..., and you will
		 * review it"; unpunctuated speech: "...by friday could you"). */
		size_t end = w->n;
		int req2, pron2;
		size_t at2;
		if (action_in(w, at + 2, s->question, &req2, &at2, &pron2)) {
			end = at2;
			while (end > at + 2 && crm_word_in(w->w[end - 1], "and|then|but|so|also"))
				end--;
		}
		struct crm_words cl;
		cl.n = 0;
		for (size_t j = at; j < end; j++)
			cl.w[cl.n++] = w->w[j];
		if (s->role != CRM_OWNER_UNKNOWN)
			owner = request ? (s->role == CRM_OWNER_REP ? CRM_OWNER_CUSTOMER : CRM_OWNER_REP)
					: s->role;
		else {
			size_t cs = crm_count_any(&cl, CUSTOMER_SIDE, sizeof CUSTOMER_SIDE / sizeof *CUSTOMER_SIDE);
			size_t rs = crm_count_any(&cl, REP_SIDE, sizeof REP_SIDE / sizeof *REP_SIDE);
			int me = crm_find(&cl, 0, "me|us") >= 0;
			if (request)
				owner = rs > cs || (me && rs >= cs) ? CRM_OWNER_REP : CRM_OWNER_CUSTOMER;
			else
				owner = cs > rs ? CRM_OWNER_CUSTOMER : CRM_OWNER_REP;
		}
		/* "let us" is shared; the rep carries it. */
		if (crm_match_at(w, at, "let us") && s->role != CRM_OWNER_UNKNOWN)
			owner = CRM_OWNER_REP;
		struct crm_words clause = cl;
		int whole = from == 0 && end == w->n;
		struct crm_action *ni = realloc(a->items, (a->nitems + 1) * sizeof *ni);
		if (!ni)
			return -1;
		a->items = ni;
		struct crm_action *it = &a->items[a->nitems];
		memset(it, 0, sizeof *it);
		it->owner = owner;
		it->utt = it->first = s->utt;
		it->request = request;
		it->offer = kind == ACT_OFFER || kind == ACT_PROPOSAL;
		it->pronoun = pron;
		it->question = s->question;
		/* What it acts on: the first phrase after the verb (the
		 * first word past the trigger) that is not function words. */
		for (size_t j = 1, verb = 0; j < clause.n; j++) {
			if (crm_word_in(clause.w[j], FUNC) || is_trigger_word(clause.w[j]))
				continue;
			if (!verb) {
				verb = j;
				continue;
			}
			/* The head of the phrase: its last word ("the roi
			 * calculator tomorrow": calculator). */
			while (j + 1 < clause.n && !crm_word_in(clause.w[j + 1], FUNC))
				j++;
			snprintf(it->object, sizeof it->object, "%s", clause.w[j]);
			break;
		}
		/* The object right after the verb is a pronoun. */
		for (size_t j = 1; j < clause.n && j <= 4; j++)
			if (crm_word_in(clause.w[j], "it|that|this|them|him|her|those|these")) {
				it->anaphor = !crm_word_in(clause.w[j - 1], "and|or|so|if|that") && j >= 2;
				break;
			}
		/* Due date: in the clause, else anywhere in the sentence. */
		char phrase[96];
		if (crm_due_in(&clause, o->call_time, it->due, phrase, sizeof phrase) ||
		    (whole && crm_due_in(w, o->call_time, it->due, phrase, sizeof phrase))) {
			if (!(it->due_phrase = strdup(phrase)))
				return -1;
		} else if (owner != CRM_OWNER_CUSTOMER) {
			crm_workdays_after(o->call_time, 1, it->due);
		}
		if (!(it->text = whole ? dup_range(s->s, s->n) : NULL)) {
			/* Several clauses: the words of this one. */
			struct crm_buf b = {0};
			for (size_t j = 0; j < clause.n; j++)
				if ((j && crm_buf_addc(&b, ' ') < 0) || crm_buf_adds(&b, clause.w[j]) < 0) {
					crm_buf_release(&b);
					return -1;
				}
			it->text = crm_buf_detach(&b, NULL);
			if (!it->text)
				return -1;
		}
		if (t->u[s->utt].speaker && !(it->speaker = strdup(t->u[s->utt].speaker)))
			return -1;
		a->nitems++;
		s->score += 3;
		from = end > at ? end : at + 1;
	}
	return 0;
}

static void item_free(struct crm_action *x)
{
	free(x->text);
	free(x->speaker);
	free(x->due_phrase);
}

/* b takes a's due date when b has no phrase of its own and a has. */
static void due_from(struct crm_action *b, struct crm_action *a)
{
	if (b->due_phrase || !a->due_phrase)
		return;
	b->due_phrase = a->due_phrase;
	a->due_phrase = NULL;
	memcpy(b->due, a->due, sizeof b->due);
}

/* The reply to utterance u: the next utterance by someone else, or -1. */
static long reply_to(const struct crm_transcript *t, size_t u)
{
	for (size_t r = u + 1; r < t->n && r <= u + 2; r++)
		if (t->u[r].speaker && t->u[u].speaker && strcasecmp(t->u[r].speaker, t->u[u].speaker))
			return (long)r;
	return -1;
}

/* How the reply answers a request: 1 yes, -1 no, 0 neither. */
static int answer(const char *text)
{
	struct crm_words w;
	size_t n;

	crm_words_fold(text, strlen(text), &w);
	n = w.n < 6 ? w.n : 6;
	for (size_t i = 0; i < n; i++) {
		if (crm_word_in(w.w[i], "no|not|cannot|unfortunately|afraid|nope|never") ||
		    crm_match_at(&w, i, "will not|would not|rather not|hard to|tricky|difficult"))
			return -1;
		if (crm_word_in(w.w[i], "yes|yeah|yep|yup|sure|absolutely|certainly|definitely|okay|ok|"
			    "fine|course|done|noted|happy|gladly|will|can|shall|right|please|great|"
			    "perfect|ideal|brilliant|lovely|excellent|good|helpful|appreciate|thanks|"
			    "thank|agreed|deal") ||
		    crm_match_at(&w, i, "no problem|sounds good|will do|can do|of course|i will|we will"))
			return 1;
	}
	return 0;
}

/*
 * Requests and what became of them. "Could you send the form?" - "Yes,
 * I'll send the supplier form this afternoon": the item is the doer's
 * own words, due when either says. A request refused, or a question the
 * other side does not take up, is no item ("can you waive them?" - "we
 * cannot"). "I can give you the lane data. I will share it by Monday":
 * the second only says when the first is due.
 */
static void resolve_items(struct crm_analysis *a, const struct crm_transcript *t)
{
	size_t n = 0;
	char *gone = calloc(a->nitems ? a->nitems : 1, 1);

	if (!gone)
		return;
	for (size_t i = 0; i < a->nitems; i++) {
		struct crm_action *x = &a->items[i];
		long r;
		int ans, taken = 0;

		if (x->offer)
			continue;
		if (!x->request)
			continue;
		if ((r = reply_to(t, x->utt)) < 0)
			continue;	/* the last word of the call, or no speakers */
		/* A commitment in the reply by the one asked takes it up. */
		for (size_t j = i + 1; j < a->nitems; j++) {
			struct crm_action *b = &a->items[j];

			if (b->utt > (size_t)r)
				break;
			if (b->utt == (size_t)r && !b->request && b->owner == x->owner && !gone[j]) {
				/* The item is the exchange: what was asked
				 * names the thing, the answer who and when. */
				size_t lx = strlen(x->text), lb = strlen(b->text);
				char *both = malloc(lx + lb + 2);

				if (both) {
					memcpy(both, x->text, lx);
					both[lx] = ' ';
					memcpy(both + lx + 1, b->text, lb + 1);
					free(b->text);
					b->text = both;
				}
				due_from(b, x);
				b->first = x->first;
				b->pronoun = 0;	/* the request names the thing */
				gone[i] = 1;
				taken = 1;
				break;
			}
		}
		if (taken)
			continue;
		ans = answer(t->u[r].text);
		if (ans < 0 || (ans == 0 && x->question))
			gone[i] = 1;
	}
	/* "... I will share it by Monday": a pronoun object continues the
	 * item before it by the same speaker in the same turn. */
	for (size_t i = 1; i < a->nitems; i++) {
		struct crm_action *b = &a->items[i];

		if (!b->anaphor || gone[i])
			continue;
		for (size_t j = i; j-- > 0; ) {
			struct crm_action *x = &a->items[j];

			if (gone[j])
				continue;
			if (x->utt == b->utt && x->owner == b->owner) {
				due_from(x, b);
				gone[i] = 1;
			}
			break;
		}
	}
	/*
	 * Offers and proposals: an item when dated ("we can issue the PO next
	 * week" is a plan) or taken up by the other side's next words; not
	 * when the speaker goes straight on to commit ("what if we looked at
	 * a smaller option? I'll put one together").
	 */
	for (size_t i = 0; i < a->nitems; i++) {
		struct crm_action *x = &a->items[i];
		long r;

		if (!x->offer || gone[i] || x->due_phrase || !t->u[x->utt].speaker)
			continue;
		for (size_t j = i + 1; j < a->nitems && a->items[j].utt == x->utt; j++)
			if (!gone[j] && !a->items[j].offer && !a->items[j].request &&
			    a->items[j].owner == x->owner)
				gone[i] = 1;
		/* "I'll email the paperwork" - "I can sign it the same day": an
		 * offer that answers the other side's item is the exchange. */
		int answers = 0;
		for (size_t j = 0; j < i; j++)
			answers |= !gone[j] && reply_to(t, a->items[j].utt) == (long)x->utt;
		if (!gone[i] && !answers && ((r = reply_to(t, x->utt)) < 0 || answer(t->u[r].text) <= 0))
			gone[i] = 1;
	}
	/* "I'll get that calculator over": said again later, the same
	 * owner acting on the same thing, with no date of its own. */
	for (size_t i = 1; i < a->nitems; i++) {
		struct crm_action *b = &a->items[i];

		if (gone[i] || !b->object[0] || b->due_phrase)
			continue;
		for (size_t j = 0; j < i; j++) {
			struct crm_action *x = &a->items[j];

			if (!gone[j] && x->owner == b->owner && x->utt + 2 < b->utt &&
			    !strcmp(x->object, b->object)) {
				gone[i] = 1;
				break;
			}
		}
	}
	/* A pronoun nothing said names is no item ("we can phase it"). */
	for (size_t i = 0; i < a->nitems; i++)
		gone[i] |= a->items[i].pronoun;
	for (size_t i = 0; i < a->nitems; i++) {
		if (gone[i])
			item_free(&a->items[i]);
		else
			a->items[n++] = a->items[i];
	}
	a->nitems = n;
	free(gone);
}

int crm_callan(const struct crm_transcript *t, const struct crm_callan_opts *o,
	       struct crm_analysis *a, struct crm_err *e)
{
	struct sent *S = NULL;
	size_t ns = 0, alloc = 0;
	struct roles R;
	double thr = o->hesitation_threshold > 0 ? o->hesitation_threshold : 0.5;
	double pause = o->pause_ms > 0 ? o->pause_ms : 2500;
	double hes = 0, counter = 0, fillers = 0, pauses = 0, wsum = 0, ssum = 0;
	size_t last_yes = 0;
	int any_yes = 0;
	double warm = 0;

	memset(a, 0, sizeof *a);
	find_roles(t, o->rep, &R);
	if (R.rep >= 0 && !(a->rep = strdup(R.spk[R.rep])))
		goto oom;
	a->rep_confidence = R.rep >= 0 ? R.confidence : 0;
	a->rep_basis = R.basis;
	if (!(a->utt_sentiment = calloc(t->n ? t->n : 1, sizeof *a->utt_sentiment)))
		goto oom;
	a->nutt = t->n;
	for (size_t i = 0; i < t->n; i++) {
		enum crm_owner role = role_in(&R, t->u[i].speaker);
		if (split(t->u[i].text, i, role, &S, &ns, &alloc) < 0)
			goto oom;
		struct crm_words w;
		crm_words_fold(t->u[i].text, strlen(t->u[i].text), &w);
		double s = sentiment_words(&w);
		a->utt_sentiment[i] = s;
		if (role != CRM_OWNER_REP) {
			wsum += (double)w.n;
			ssum += s * (double)w.n;
		}
		if (t->u[i].speaker) {
			double secs = t->u[i].start >= 0 && t->u[i].end > t->u[i].start
					      ? (t->u[i].end - t->u[i].start) / 1000.0 : 0;
			if (talk_add(a, t->u[i].speaker, role, secs, (long)w.n, s) < 0)
				goto oom;
			if (secs > a->longest_monologue)
				a->longest_monologue = secs;
		}
		/* A long silence before the customer answers the rep. */
		if (role == CRM_OWNER_CUSTOMER && i > 0 && t->u[i - 1].end >= 0 && t->u[i].start >= 0 &&
		    role_in(&R, t->u[i - 1].speaker) == CRM_OWNER_REP &&
		    t->u[i].start - t->u[i - 1].end >= pause && pauses < 0.6) {
			pauses += 0.3;
			if (add_cue(a, NULL, 0, 0, "long pause", "pause", i, 0.3) < 0)
				goto oom;
		}
	}
	a->sentiment = wsum > 0 ? ssum / wsum : 0;
	a->sentiment_label = crm_sentiment_label(a->sentiment);
	for (size_t i = 0; i < a->ntalk; i++)
		if (a->talk[i].words)
			a->talk[i].sentiment /= (double)a->talk[i].words;

	for (size_t k = 0; k < ns; k++) {
		struct sent *s = &S[k];
		const struct crm_words *w = &s->w;
		/* Trackers. */
		for (int tr = 0; tr < CRM_NTRK; tr++) {
			size_t c = count_tracker(w, TRACK[tr]);
			a->trackers[tr] += (long)c;
			s->score += 0.3 * (double)(c > 0);
		}
		if (s->question && s->role != CRM_OWNER_REP)
			a->questions++;
		/* Hesitation: the customer's sentences, or all when unknown. */
		if (s->role != CRM_OWNER_REP) {
			for (size_t h = 0; h < sizeof HES / sizeof *HES; h++) {
				long at = crm_find(w, 0, HES[h].ph);
				if (at < 0)
					continue;
				/* Fillers say as much of the transcriber's style
				 * as of the speaker: a little, and no more. */
				if (!strcmp(HES[h].kind, "filler")) {
					if (fillers < 0.2)
						fillers += HES[h].w;
					continue;
				}
				/* Generic "budget" only when no budget phrase matched. */
				int dup = 0;
				for (size_t c = 0; c < a->ncues; c++)
					if (a->cues[c].utt == s->utt && !strcmp(a->cues[c].kind, HES[h].kind))
						dup = 1;
				if (dup)
					continue;
				/* A question asks ("how hard is it to set up?");
				 * it holds back less than a statement does. */
				double cw = s->question ? HES[h].w / 2 : HES[h].w;
				s->score += 1.5;
				if (add_cue(a, w, (size_t)at, crm_match_at(w, (size_t)at, HES[h].ph),
					    NULL, HES[h].kind, s->utt, cw) < 0)
					goto oom;
			}
			int doubt = 0;
			for (size_t c = 0; c < a->ncues; c++)
				doubt |= a->cues[c].utt == s->utt;
			if (!doubt && s->role == CRM_OWNER_CUSTOMER && sentiment_words(w) >= WARM && warm < 1.2) {
				counter += 0.3;
				warm += 0.3;
			}
			for (size_t c = 0; c < sizeof COMMIT / sizeof *COMMIT; c++) {
				long at = crm_find(w, 0, COMMIT[c]);
				if (at >= 0 && !(at > 0 && crm_word_in(w->w[at - 1], "not|never"))) {
					counter += 0.6;
					s->score += 1;
					last_yes = s->utt;
					any_yes = 1;
				}
			}
		}
		if (sentence_actions(a, t, s, o) < 0)
			goto oom;
		if (crm_find(w, 0, "decided|agreed|agree|decision|go with|signed|approved") >= 0)
			s->score += 2;
		if (w->n < 4)
			s->score -= 1;
	}
	resolve_items(a, t);
	/* A doubt the customer's own later words resolve ("not sure about
	 * the price" ... "let's go ahead") weighs half. */
	for (size_t c = 0; c < a->ncues; c++) {
		if (!strcmp(a->cues[c].kind, "pause"))
			continue;
		if (any_yes && last_yes > a->cues[c].utt)
			a->cues[c].weight /= 2;
		hes += a->cues[c].weight;
	}
	hes += fillers + pauses;
	hes -= counter;
	a->hesitation = hes > 0 ? 1 - exp(-1.2 * hes) : 0;
	a->hesitant = a->hesitation >= thr;

	/* Talk ratio. */
	{
		double tsec = 0, twords = 0;
		for (size_t i = 0; i < a->ntalk; i++)
			tsec += a->talk[i].seconds, twords += (double)a->talk[i].words;
		for (size_t i = 0; i < a->ntalk; i++)
			a->talk[i].ratio = tsec > 0 ? a->talk[i].seconds / tsec
					   : twords > 0 ? (double)a->talk[i].words / twords : 0;
	}

	/* Summary: what happened, from the analysis; the best sentence
	 * only when nothing was agreed, asked or doubted. */
	{
		size_t best = ns;
		double top = 0.9;

		for (size_t k = 0; k < ns; k++)
			if (S[k].score > top)
				top = S[k].score, best = k;
		if (!(a->summary = crm_call_summary(a, o->rep_name, o->customer_name,
						    best < ns ? S[best].s : NULL,
						    best < ns ? S[best].n : 0)))
			goto oom;
	}
	free(S);
	return 0;
oom:
	free(S);
	crm_analysis_free(a);
	return crm_err_set(e, CRM_ESOFTWARE, "out of memory analysing the call");
}

char *crm_item_words(const struct crm_action *it, const struct crm_transcript *t)
{
	struct crm_buf b = {0};
	size_t from = it->first <= it->utt ? it->first : it->utt;

	for (size_t u = from; u <= it->utt && u < t->n; u++) {
		if (b.len)
			crm_buf_addc(&b, ' ');
		if (t->u[u].speaker)
			crm_buf_addf(&b, "%s: ", t->u[u].speaker);
		crm_buf_adds(&b, t->u[u].text);
	}
	return crm_buf_detach(&b, NULL);
}

static json_t *round3(double v)
{
	return json_real(round(v * 1000) / 1000);
}

void *crm_analysis_json(const struct crm_analysis *a, const struct crm_transcript *t)
{
	json_t *o = json_object(), *items = json_array(), *cues = json_array(),
	       *trk = json_object(), *talk = json_array(), *sent = json_object();

	json_object_set_new(o, "summary", json_string(a->summary ? a->summary : ""));
	for (size_t i = 0; i < a->nitems; i++) {
		const struct crm_action *it = &a->items[i];
		/* the words it came from, so a rep sees why */
		char *said = crm_item_words(it, t);
		json_t *x = json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:I,s:s?}", "text", it->text,
				      "owner", crm_owner_name(it->owner),
				      "due", it->due[0] ? it->due : NULL,
				      "due_phrase", it->due_phrase, "speaker", it->speaker,
				      "utterance", (json_int_t)it->utt, "words", said);
		free(said);
		json_array_append_new(items, x);
	}
	json_object_set_new(o, "action_items", items);
	json_object_set_new(sent, "score", round3(a->sentiment));
	json_object_set_new(sent, "label", json_string(a->sentiment_label));
	json_t *per = json_array();
	for (size_t i = 0; i < a->nutt; i++)
		json_array_append_new(per, round3(a->utt_sentiment[i]));
	json_object_set_new(sent, "utterances", per);
	json_object_set_new(o, "sentiment", sent);
	json_object_set_new(o, "hesitation", json_pack("{s:o,s:b,s:o}", "score",
						       round3(a->hesitation), "hesitant",
						       a->hesitant, "cues", cues));
	for (size_t i = 0; i < a->ncues; i++) {
		const char *text = a->cues[i].utt < t->n ? t->u[a->cues[i].utt].text : "";
		json_array_append_new(cues, json_pack("{s:s,s:s,s:I,s:s}", "cue", a->cues[i].cue,
						      "kind", a->cues[i].kind, "utterance",
						      (json_int_t)a->cues[i].utt, "text", text));
	}
	for (int i = 0; i < CRM_NTRK; i++)
		json_object_set_new(trk, crm_tracker_names[i], json_integer(a->trackers[i]));
	json_object_set_new(o, "trackers", trk);
	for (size_t i = 0; i < a->ntalk; i++) {
		const struct crm_talk *k = &a->talk[i];
		json_array_append_new(talk, json_pack("{s:s,s:s,s:o,s:I,s:o,s:o}", "speaker",
						      k->speaker, "role", crm_owner_name(k->role),
						      "seconds", round3(k->seconds), "words",
						      (json_int_t)k->words, "ratio", round3(k->ratio),
						      "sentiment", round3(k->sentiment)));
	}
	json_object_set_new(o, "talk", talk);
	json_object_set_new(o, "rep", a->rep ? json_pack("{s:s,s:o,s:s}", "speaker", a->rep,
							  "confidence", round3(a->rep_confidence),
							  "basis", a->rep_basis ? a->rep_basis : "words")
					    : json_pack("{s:n,s:o}", "speaker", "confidence",
							round3(a->rep_confidence)));
	json_object_set_new(o, "questions", json_integer(a->questions));
	if (a->longest_monologue > 0)
		json_object_set_new(o, "longest_monologue", round3(a->longest_monologue));
	json_object_set_new(o, "analyzer", json_string(a->analyzer ? a->analyzer : "rules"));
	if (a->fallback)
		json_object_set_new(o, "fallback", json_string(a->fallback));
	if (a->rules)
		json_object_set(o, "rules", a->rules);
	if (a->disagreements)
		json_object_set(o, "disagreements", a->disagreements);
	if (a->rejected)
		json_object_set(o, "rejected", a->rejected);
	if (a->agreement)
		json_object_set(o, "agreement", a->agreement);
	return o;
}
