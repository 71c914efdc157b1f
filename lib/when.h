/*
 * when.h - due dates from what people say, relative to when they said it.
 *
 * A small grammar over folded words (words.h), not a list of phrases:
 *
 *   due     := [by | on | before | until | till | for | no later than] when
 *   when    := day [clock] | clock [day] | span | period-end
 *   day     := today | tonight | tomorrow | the day after tomorrow
 *            | [next | this | coming] weekday [[the] ordinal] [week | after next]
 *            | month [the] ordinal | ordinal [of] month | the ordinal
 *            | (early | mid | end of | late) (month | next week | next month)
 *            | (in | during) month-name       (its last day)
 *            | (by | before | until) month-name  (its first)
 *            | YYYY-MM-DD
 *   clock   := 2pm | 2 pm | 14:00 | 2:30pm | two o'clock | noon | midday
 *   span    := (in | within) [the next | the coming] count unit
 *            | count unit from (now | today | tomorrow | weekday)
 *            | a fortnight | weekday week
 *   unit    := minutes | hours | days | business days | working days
 *            | weeks | fortnights | months
 *   period-end := [the] end of [the | this | next] (day | week | month | quarter | year)
 *            | end of month-name | q1..q4 | the first..fourth quarter
 *            | eod | cob | eow | eom | eoq | eoy | month end | quarter end | year end
 *
 * Counts are digits or words ("sixty", "forty-eight", "a couple of").
 * Weekdays and months take their short forms ("Thu", "Sept") where a day
 * number or a preposition makes them dates. A clock time alone is the
 * call's day; beside a day ("by 2pm tomorrow") it is that day. Fiscal
 * words are read on the calendar year, which is what a CRM without a
 * fiscal calendar can know. Ambiguous numeric dates ("3/12") are not read.
 */
#ifndef CRM_WHEN_H
#define CRM_WHEN_H

#include <stddef.h>
#include <time.h>

#include "words.h"

/*
 * The first due date in w, relative to the call at t (UTC), as YYYY-MM-DD
 * in due; the words that say it in phrase (n bytes, may be NULL). 1 when
 * found, 0 when none.
 */
int crm_due_in(const struct crm_words *w, time_t t, char due[11], char *phrase, size_t n);
/* The same over a text. */
int crm_due_date(const char *text, time_t t, char due[11], char *phrase, size_t n);
/* Is there a date phrase in w at or after word from? */
int crm_date_after(const struct crm_words *w, size_t from);
/* The day n working days (Monday to Friday) after the day of t, UTC. */
void crm_workdays_after(time_t t, int n, char due[11]);

#endif
