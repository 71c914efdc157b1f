/*
 * entity.c - the field tables of every record type.
 *
 * Header aliases are written in crm_norm_key() form (lower case letters
 * and digits only), so "E-mail Address", "email_address" and
 * "EmailAddress" all meet "emailaddress". The first field that lists a
 * key wins; order the table so the specific names come first.
 */
#include <stdlib.h>
#include <string.h>

#include "entity.h"
#include "normalize.h"
#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define CREATED { "created_at", CRM_T_TIME, 0, \
	"createdat createddate created createdon createtime datecreated createdate", NULL }

static const struct crm_field user_fields[] = {
	{ "name", CRM_T_TEXT, CRM_F_REQUIRED,
	  "name fullname salesagent agent rep salesrep username", NULL },
	{ "email", CRM_T_EMAIL, 0, "email emailaddress mail workemail", NULL },
	{ "manager", CRM_T_TEXT, 0, "manager managername reportsto", NULL },
	{ "team", CRM_T_TEXT, 0,
	  "team regionaloffice region office salesteam territory", NULL },
	{ "role", CRM_T_TEXT, 0, "role title jobtitle position", NULL },
	CREATED,
};

static const struct crm_field product_fields[] = {
	{ "name", CRM_T_TEXT, CRM_F_REQUIRED,
	  "name product productname item", NULL },
	{ "series", CRM_T_TEXT, 0,
	  "series family productfamily category productline line", NULL },
	{ "price", CRM_T_REAL, 0,
	  "price salesprice listprice unitprice", NULL },
	CREATED,
};

static const struct crm_field account_fields[] = {
	{ "name", CRM_T_TEXT, CRM_F_REQUIRED,
	  "name account accountname company companyname organization "
	  "organisation organizationname", NULL },
	{ "domain", CRM_T_TEXT, 0,
	  "domain website web url companydomain companywebsite", NULL },
	{ "industry", CRM_T_TEXT, 0, "industry sector vertical", NULL },
	{ "employees", CRM_T_INT, 0,
	  "employees numberofemployees employeecount headcount", NULL },
	{ "revenue", CRM_T_REAL, 0, "revenue annualrevenue", NULL },
	{ "country", CRM_T_TEXT, 0,
	  "country officelocation countryregion billingcountry", NULL },
	{ "city", CRM_T_TEXT, 0, "city town billingcity", NULL },
	{ "owner", CRM_T_TEXT, 0, "owner accountowner salesagent rep", NULL },
	{ "parent_id", CRM_T_REF, CRM_F_DEFERRED,
	  "parentid parent parentaccount subsidiaryof parentcompany",
	  "account" },
	CREATED,
};

static const struct crm_field contact_fields[] = {
	{ "first_name", CRM_T_TEXT, CRM_F_IDENTITY | CRM_F_PERSONAL,
	  "firstname givenname first fname forename", NULL },
	{ "last_name", CRM_T_TEXT, CRM_F_IDENTITY | CRM_F_PERSONAL,
	  "lastname surname familyname last lname", NULL },
	{ "name", CRM_T_TEXT, CRM_F_VIRTUAL,
	  "name fullname contactname leadname", NULL },
	{ "email", CRM_T_EMAIL, CRM_F_PERSONAL,
	  "email emailaddress mail email1 primaryemail workemail", NULL },
	{ "phone", CRM_T_TEXT, CRM_F_PERSONAL,
	  "phone phonenumber telephone tel mobile mobilephone cell "
	  "workphone", NULL },
	{ "title", CRM_T_TEXT, 0, "title jobtitle position role", NULL },
	{ "company", CRM_T_TEXT, CRM_F_IDENTITY,
	  "company companyname organization organisation employer "
	  "accountname account", NULL },
	{ "account_id", CRM_T_REF, CRM_F_SOFT, "accountid", "account" },
	{ "lifecycle_stage", CRM_T_ENUM, CRM_F_LENIENT,
	  "lifecyclestage lifecycle leadstage stage",
	  "subscriber=subscriber;lead=lead newlead;"
	  "mql=mql marketingqualifiedlead marketingqualified;"
	  "sql=sql salesqualifiedlead salesqualified;"
	  "opportunity=opportunity;customer=customer;"
	  "evangelist=evangelist;other=other" },
	{ "lead_source", CRM_T_TEXT, 0,
	  "leadsource originalsource channel", NULL },
	{ "owner", CRM_T_TEXT, 0,
	  "owner contactowner leadowner salesagent rep assignedto", NULL },
	{ "consent", CRM_T_ENUM, 0,
	  "consent marketingconsent optin emailoptin gdprconsent",
	  "granted=granted yes true 1 y optin optedin subscribed;"
	  "denied=denied no false 0 n optout optedout unsubscribed;"
	  "unknown=unknown" },
	{ "consent_basis", CRM_T_ENUM, 0,
	  "consentbasis lawfulbasis legalbasis basis",
	  "consent=consent;contract=contract;"
	  "legal_obligation=legalobligation;vital_interests=vitalinterests;"
	  "public_task=publictask;"
	  "legitimate_interests=legitimateinterests legitimateinterest" },
	{ "consent_source", CRM_T_TEXT, 0,
	  "consentsource optinsource consentorigin", NULL },
	{ "consent_at", CRM_T_TIME, 0,
	  "consentat consentdate optindate consentgivenat", NULL },
	{ "outcome", CRM_T_ENUM, 0, "outcome converted isconverted result",
	  "converted=converted yes true 1 y won customer;"
	  "lost=lost no false 0 n notconverted unqualified disqualified" },
	{ "outcome_at", CRM_T_TIME, 0,
	  "outcomeat outcomedate converteddate convertedat conversiondate becameacustomerdate", NULL },
	{ "country", CRM_T_TEXT, 0, "country countryregion", NULL },
	{ "city", CRM_T_TEXT, 0, "city town", NULL },
	CREATED,
};

static const struct crm_field deal_fields[] = {
	{ "name", CRM_T_TEXT, CRM_F_IDENTITY,
	  "name dealname opportunityname opportunity", NULL },
	{ "account_id", CRM_T_REF, CRM_F_IDENTITY,
	  "accountid account accountname company companyname", "account" },
	{ "contact_id", CRM_T_REF, CRM_F_IDENTITY,
	  "contactid contact contactemail email", "contact" },
	{ "owner", CRM_T_TEXT, CRM_F_IDENTITY,
	  "owner dealowner salesagent agent rep opportunityowner", NULL },
	{ "product", CRM_T_TEXT, CRM_F_IDENTITY,
	  "product productname item", NULL },
	{ "stage", CRM_T_TEXT, 0,
	  "stage dealstage salesstage pipelinestage status", NULL },
	{ "amount", CRM_T_REAL, 0,
	  "amount value dealvalue closevalue revenue", NULL },
	{ "currency", CRM_T_TEXT, 0, "currency currencycode", NULL },
	{ "outcome", CRM_T_ENUM, 0, "outcome result wonlost",
	  "won=won closedwon win yes true 1;lost=lost closedlost no false 0" },
	{ "closed_at", CRM_T_TIME, 0,
	  "closedat closedate closeddate dateclosed", NULL },
	{ "created_at", CRM_T_TIME, CRM_F_IDENTITY,
	  "createdat createdate createddate created engagedate opendate "
	  "startdate", NULL },
};

static const struct crm_field interaction_fields[] = {
	{ "kind", CRM_T_ENUM, CRM_F_REQUIRED | CRM_F_IDENTITY,
	  "kind type activitytype interactiontype eventtype",
	  "email=email mail emailsent emailreceived;"
	  "call=call phone phonecall;meeting=meeting;"
	  "web_visit=webvisit visit websitevisit session;"
	  "page_view=pageview page view;"
	  "form=form formsubmission formsubmit;"
	  "email_open=emailopen open opened;"
	  "click=click emailclick linkclick;note=note comment" },
	{ "occurred_at", CRM_T_TIME, CRM_F_REQUIRED | CRM_F_IDENTITY,
	  "occurredat timestamp time date datetime activitydate when sentat",
	  NULL },
	{ "contact_id", CRM_T_REF, CRM_F_IDENTITY,
	  "contactid contact email contactemail from", "contact" },
	{ "account_id", CRM_T_REF, CRM_F_IDENTITY,
	  "accountid account company", "account" },
	{ "deal_id", CRM_T_REF, CRM_F_IDENTITY,
	  "dealid deal opportunityid opportunity", "deal" },
	{ "direction", CRM_T_ENUM, 0, "direction",
	  "inbound=inbound in incoming received;"
	  "outbound=outbound out outgoing sent" },
	{ "subject", CRM_T_TEXT, CRM_F_IDENTITY | CRM_F_PERSONAL,
	  "subject title url page", NULL },
	{ "body", CRM_T_TEXT, CRM_F_IDENTITY | CRM_F_PERSONAL,
	  "body text content notes description message", NULL },
	CREATED,
};

static const struct crm_field task_fields[] = {
	{ "title", CRM_T_TEXT, CRM_F_REQUIRED | CRM_F_IDENTITY | CRM_F_PERSONAL,
	  "title subject task name", NULL },
	{ "owner", CRM_T_TEXT, CRM_F_IDENTITY,
	  "owner assignedto assignee", NULL },
	{ "contact_id", CRM_T_REF, CRM_F_IDENTITY,
	  "contactid contact email", "contact" },
	{ "deal_id", CRM_T_REF, CRM_F_IDENTITY,
	  "dealid deal opportunity", "deal" },
	{ "due_at", CRM_T_TIME, 0, "dueat duedate due deadline", NULL },
	{ "status", CRM_T_ENUM, CRM_F_DEFAULT, "status state",
	  "open=open todo pending notstarted inprogress;"
	  "done=done completed complete closed;"
	  "cancelled=cancelled canceled" },
	{ "origin", CRM_T_TEXT, 0, "origin", NULL },
	CREATED,
};

const struct crm_entity crm_entities[] = {
	{ "user", "users", "u_", "externalid userid agentid employeeid",
	  "user|team|agent|staff", user_fields, N(user_fields), 1, 0, 0 },
	{ "product", "products", "p_", "externalid productid sku productcode",
	  "product|catalog", product_fields, N(product_fields), 1, 0, 0 },
	{ "account", "accounts", "a_",
	  "externalid accountid companyid organizationid",
	  "account|compan|organi", account_fields, N(account_fields), 1, 0, 0 },
	{ "contact", "contacts", "c_",
	  "externalid contactid leadid prospectid recordid recid personid",
	  "contact|lead|people|person|prospect", contact_fields,
	  N(contact_fields), 0, 1, 1 },
	{ "deal", "deals", "d_", "externalid dealid opportunityid oppid",
	  "deal|opportunit|pipeline", deal_fields, N(deal_fields), 0, 0, 0 },
	{ "interaction", "interactions", "i_",
	  "externalid interactionid activityid eventid messageid",
	  "interaction|activit|event|email|call|visit|meeting",
	  interaction_fields, N(interaction_fields), 0, 0, 0 },
	{ "task", "tasks", "t_", "externalid taskid", "task|todo",
	  task_fields, N(task_fields), 0, 0, 0 },
};

const size_t crm_nentities = N(crm_entities);

const struct crm_entity *crm_entity_find(const char *name)
{
	for (size_t i = 0; i < crm_nentities; i++)
		if (!strcmp(name, crm_entities[i].kind) ||
		    !strcmp(name, crm_entities[i].table))
			return &crm_entities[i];
	return NULL;
}

int crm_entity_internal(const char *c)
{
	return !strcmp(c, "src_key") || !strcmp(c, "name_key") || !strcmp(c, "dk") ||
	       !strcmp(c, "email_bi") || !strcmp(c, "phone_bi");
}

int crm_entity_personal(const struct crm_entity *t, const struct crm_field *f,
			const char *kind)
{
	if (!(f->flags & CRM_F_PERSONAL))
		return 0;
	/* Web visits, page views, opens and clicks carry page addresses and
	 * campaign names, which scoring reads; messages carry people's words. */
	if (!strcmp(t->kind, "interaction") && kind &&
	    (!strcmp(kind, "web_visit") || !strcmp(kind, "page_view") ||
	     !strcmp(kind, "email_open") || !strcmp(kind, "click")))
		return 0;
	return 1;
}

int crm_entity_personal_column(const struct crm_entity *t, const char *col)
{
	int f = crm_entity_field(t, col);

	return f >= 0 && (t->fields[f].flags & CRM_F_PERSONAL);
}

int crm_entity_has_personal(const struct crm_entity *t)
{
	for (size_t i = 0; i < t->nfields; i++)
		if (t->fields[i].flags & CRM_F_PERSONAL)
			return 1;
	return 0;
}

const struct crm_entity *crm_entity_by_id(const char *id)
{
	for (size_t i = 0; i < crm_nentities; i++)
		if (!strncmp(id, crm_entities[i].prefix, 2))
			return &crm_entities[i];
	return NULL;
}

const char *crm_entity_default(const struct crm_field *f, char *out)
{
	size_t n;

	if (!(f->flags & CRM_F_DEFAULT) || f->type != CRM_T_ENUM || !f->arg)
		return NULL;
	n = strcspn(f->arg, "=");
	if (n >= 64)
		return NULL;
	memcpy(out, f->arg, n);
	out[n] = '\0';
	return out;
}

int crm_entity_field(const struct crm_entity *t, const char *name)
{
	for (size_t i = 0; i < t->nfields; i++)
		if (!strcmp(t->fields[i].name, name))
			return (int)i;
	return -1;
}

/* Is key one of the space-separated words of list? */
static int in_list(const char *list, const char *key, size_t klen)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, " ;");

		if (n == klen && !memcmp(p, key, n))
			return 1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

int crm_entity_map_header(const struct crm_entity *t, const char *header)
{
	char stack[128], *key = stack;
	size_t n = strlen(header);
	int col = CRM_COL_NONE;

	if (n >= sizeof(stack) && !(key = malloc(n + 1)))
		return CRM_COL_NONE;
	/* Exact column names first: "account_id" is not "accountid"'s alias. */
	if (!strcmp(header, "id"))
		col = CRM_COL_ID;
	else if (!strcmp(header, "source"))
		col = CRM_COL_SOURCE;
	else if (!strcmp(header, "external_id"))
		col = CRM_COL_EXTERNAL_ID;
	else if (!strcmp(header, "attrs"))
		col = CRM_COL_ATTRS;
	else if (crm_entity_field(t, header) >= 0)
		col = crm_entity_field(t, header);
	/* Keys crm-import and crm-export add to records, not data. */
	else if (!strcmp(header, "updated_at") || !strcmp(header, "status") ||
		 !strcmp(header, "merged_into"))
		col = CRM_COL_IGNORE;
	if (col == CRM_COL_NONE) {
		crm_norm_key(header, key);
		n = strlen(key);
		if (!strcmp(key, "id"))
			col = CRM_COL_ID;
		else if (in_list(t->ext_aliases, key, n))
			col = CRM_COL_EXTERNAL_ID;
		for (size_t i = 0; col == CRM_COL_NONE && i < t->nfields; i++)
			if (in_list(t->fields[i].aliases, key, n))
				col = (int)i;
	}
	if (key != stack)
		free(key);
	return col;
}

int crm_entity_enum(const struct crm_field *f, const char *v, char *out)
{
	const char *p = f->arg;
	size_t n;

	crm_norm_key(v, out);
	n = strlen(out);
	while (p && *p) {
		const char *eq = strchr(p, '=');
		const char *end = strchr(p, ';');

		if (!end)
			end = p + strlen(p);
		for (const char *w = eq + 1; w < end;) {
			size_t wl = strcspn(w, " ;");

			if (wl == n && !memcmp(w, out, n)) {
				memcpy(out, p, (size_t)(eq - p));
				out[eq - p] = '\0';
				return 0;
			}
			w += wl;
			if (*w == ' ')
				w++;
		}
		p = *end ? end + 1 : end;
	}
	if (!(f->flags & CRM_F_LENIENT))
		return -1;
	/* Keep an unknown value readable: lower case, words joined by '_'. */
	{
		size_t k = 0;
		int gap = 0;

		for (const char *s = v; *s; s++) {
			unsigned char c = (unsigned char)*s;

			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    c >= 0x80 || (c >= 'A' && c <= 'Z')) {
				if (gap && k)
					out[k++] = '_';
				out[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
				gap = 0;
			} else {
				gap = 1;
			}
		}
		out[k] = '\0';
	}
	return 0;
}

size_t crm_entity_header_fit(const struct crm_entity *t, const char *const *headers, size_t n)
{
	size_t score = 0;

	for (size_t k = 0; k < n; k++) {
		int col = crm_entity_map_header(t, headers[k]);

		if (col >= 0 || col == CRM_COL_EXTERNAL_ID)
			score++;
	}
	return score;
}

const struct crm_entity *crm_entity_best_fit(const char *const *headers, size_t n, size_t *fit)
{
	const struct crm_entity *winner = NULL;

	*fit = 0;
	for (size_t i = 0; i < crm_nentities; i++) {
		size_t score = crm_entity_header_fit(&crm_entities[i], headers, n);

		if (score > *fit) {
			*fit = score;
			winner = &crm_entities[i];
		}
	}
	return winner;
}

const struct crm_entity *crm_entity_guess(const char *path,
					   const char *const *headers, size_t n)
{
	const char *base = strrchr(path, '/');
	char name[256];
	size_t best = 0, second = 0;
	const struct crm_entity *winner = NULL;

	base = base ? base + 1 : path;
	if (strlen(base) >= sizeof(name))
		base += strlen(base) - (sizeof(name) - 1);
	crm_norm_key(base, name);
	if (strcmp(path, "-") != 0) {
		for (size_t i = 0; i < crm_nentities; i++) {
			const char *h = crm_entities[i].file_hints;

			while (*h) {
				size_t hl = strcspn(h, "|");
				char frag[32];

				if (hl < sizeof(frag)) {
					memcpy(frag, h, hl);
					frag[hl] = '\0';
					if (strstr(name, frag))
						return &crm_entities[i];
				}
				h += hl;
				if (*h)
					h++;
			}
		}
	}
	for (size_t i = 0; i < crm_nentities; i++) {
		size_t score = crm_entity_header_fit(&crm_entities[i], headers, n);

		if (score > best) {
			second = best;
			best = score;
			winner = &crm_entities[i];
		} else if (score > second) {
			second = score;
		}
	}
	return best >= 2 && best > second ? winner : NULL;
}
