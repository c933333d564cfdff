/*
 * admission_filter.c - list and watch filtering by the action "find"
 * (admission_filter_list in admission.h): each item decided for the
 * caller, or the whole list once when no rule for find looks at the
 * items; one summary entry in the decision log per list or watch.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "admission_int.h"
#include "decision_log.h"
#include "metrics.h"
#include "util.h"

#define ADM_HIDDEN_LOG_MAX	16	/* hidden items logged per list */
#define ADM_SUMMARY_MAX		8	/* names a list summary keeps */
#define ADM_ADDR_MAX		64	/* a numeric address and a port */

/* What a list's summary entry reports, copied out of the rule set. */
struct adm_summary {
	size_t	n_reasons;
	char	reasons[ADM_SUMMARY_MAX][POLICY_NAME_MAX + 1];
	size_t	n_errors;
	struct {
		char	policy[POLICY_NAME_MAX + 1];
		char	message[POLICY_DECISION_MESSAGE_MAX];
	} errors[ADM_SUMMARY_MAX];
	size_t	n_audit;
	struct {
		char	policy[POLICY_NAME_MAX + 1];
		int	forbid;
		int	matched;
	} audit[ADM_SUMMARY_MAX];
};

struct adm_filter {
	struct admission	*a;
	enum store_kind		 kind;
	int			(*inner)(const json_t *, void *);
	void			*inner_arg;
	void			(*inner_free)(void *);
	struct principal	 principal;
	char			 remote_addr[ADM_ADDR_MAX];
	const char		*protocol;	/* static */
	json_t			*nsm_path;
	int64_t			 time;
	char			*services[64];
	size_t			 nservices;
	int64_t			 found;
	int64_t			 hidden;
	struct adm_summary	 sum;
	int64_t			 budget_us;	/* 0: none */
	int64_t			 spent_us;
	int			 cut;		/* the budget ran out */
	char			*last;		/* last name decided */
};

static void
adm_copy_name(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static void
adm_summary_add(struct adm_summary *s, const struct policy_decision *d)
{
	size_t	i, j, n;

	n = d->n_reasons < POLICY_DECISION_ITEMS ? d->n_reasons :
	    POLICY_DECISION_ITEMS;
	for (i = 0; i < n; i++) {
		for (j = 0; j < s->n_reasons; j++)
			if (strcmp(s->reasons[j], d->reasons[i]) == 0)
				break;
		if (j == s->n_reasons && j < ADM_SUMMARY_MAX)
			adm_copy_name(s->reasons[s->n_reasons++],
			    sizeof(s->reasons[0]), d->reasons[i]);
	}
	n = d->n_errors < POLICY_DECISION_ITEMS ? d->n_errors :
	    POLICY_DECISION_ITEMS;
	for (i = 0; i < n; i++) {
		for (j = 0; j < s->n_errors; j++)
			if (d->errors[i].policy != NULL &&
			    strcmp(s->errors[j].policy,
			    d->errors[i].policy) == 0)
				break;
		if (j == s->n_errors && j < ADM_SUMMARY_MAX) {
			adm_copy_name(s->errors[j].policy,
			    sizeof(s->errors[j].policy), d->errors[i].policy);
			adm_copy_name(s->errors[j].message,
			    sizeof(s->errors[j].message),
			    d->errors[i].message);
			s->n_errors++;
		}
	}
	n = d->n_audit < POLICY_DECISION_ITEMS ? d->n_audit :
	    POLICY_DECISION_ITEMS;
	for (i = 0; i < n; i++) {
		for (j = 0; j < s->n_audit; j++)
			if (strcmp(s->audit[j].policy, d->audit[i].policy) == 0)
				break;
		if (j == s->n_audit) {
			if (j == ADM_SUMMARY_MAX)
				continue;
			adm_copy_name(s->audit[j].policy,
			    sizeof(s->audit[j].policy), d->audit[i].policy);
			s->audit[j].forbid = d->audit[i].forbid;
			s->n_audit++;
		}
		s->audit[j].matched |= d->audit[i].matched;
	}
}

static int
adm_filter_match(const json_t *o, void *arg)
{
	struct adm_filter	*f = arg;
	struct admission	*a = f->a;
	struct policy_decision	 d;
	struct adm_ctx		 c;
	const json_t		*offered = NULL;
	const char		*name, *svc = NULL, *first = NULL;
	size_t			 i, n;
	int64_t			 t0;
	int			 allow = 0;

	if (f->cut)
		return 0;	/* past the budget: decide no more */
	if (f->inner != NULL && f->inner(o, f->inner_arg) != 1)
		return 0;
	if ((name = json_string_value(json_object_get(o, "name"))) == NULL)
		return 0;
	t0 = f->budget_us > 0 ? util_mono_us() : 0;
	adm_refresh(a);
	adm_ctx_init(&c, &f->principal, f->remote_addr, util_now_ms(), NULL,
	    "find");
	c.time = f->time;
	c.request.protocol = f->protocol;
	c.request.nsm_path = f->nsm_path;
	pthread_rwlock_rdlock(&a->lock);
	if (f->kind == STORE_SERVICE) {
		svc = name;
		allow = adm_decide(a, &c, name, o, NULL, NULL, &d);
		metrics_decision(a->metrics, "find", allow);
	} else {
		n = f->nservices;
		if (n == 0 && (offered = adm_offered(o)) != NULL)
			n = json_array_size(offered);
		if (n == 0) {
			allow = adm_decide(a, &c, NULL, NULL, name, o, &d);
			metrics_decision(a->metrics, "find", allow);
		}
		for (i = 0; i < n && !allow; i++) {
			svc = offered != NULL ? json_string_value(
			    json_array_get(offered, i)) : f->services[i];
			if (svc == NULL)
				continue;
			if (first == NULL)
				first = svc;
			allow = adm_decide(a, &c, svc, NULL, name, o, &d);
			metrics_decision(a->metrics, "find", allow);
		}
		if (!allow && first != NULL && n > 1) {
			/* Report the first service's decision. */
			svc = first;
			adm_decide(a, &c, svc, NULL, name, o, &d);
		}
	}
	if (allow) {
		f->found++;
		adm_summary_add(&f->sum, &d);
	} else {
		f->hidden++;
		if (f->hidden <= ADM_HIDDEN_LOG_MAX)
			adm_log(a, &c, svc, f->kind == STORE_ENDPOINT ? name :
			    NULL, NULL, &d, ADM_LOG_COALESCE);
	}
	pthread_rwlock_unlock(&a->lock);
	if (f->budget_us > 0) {
		f->spent_us += util_mono_us() - t0;
		if (f->spent_us >= f->budget_us) {
			free(f->last);
			f->last = strdup(name);
			f->cut = f->last != NULL;
		}
	}
	return allow;
}

static void
adm_filter_free(void *arg)
{
	struct adm_filter		*f = arg;
	struct adm_summary		*s = &f->sum;
	struct decision_log_entry	 e;
	struct policy_decision		 d;
	size_t				 i;

	if (f->a->log != NULL) {
		memset(&d, 0, sizeof(d));
		d.allow = 1;
		d.n_reasons = s->n_reasons;
		for (i = 0; i < s->n_reasons; i++)
			d.reasons[i] = s->reasons[i];
		d.n_errors = s->n_errors;
		for (i = 0; i < s->n_errors; i++) {
			d.errors[i].policy = s->errors[i].policy;
			adm_copy_name(d.errors[i].message,
			    sizeof(d.errors[i].message), s->errors[i].message);
		}
		d.n_audit = s->n_audit;
		for (i = 0; i < s->n_audit; i++) {
			d.audit[i].policy = s->audit[i].policy;
			d.audit[i].forbid = s->audit[i].forbid;
			d.audit[i].matched = s->audit[i].matched;
		}
		memset(&e, 0, sizeof(e));
		e.time = f->time;
		e.origin = f->principal.origin != NULL ?
		    f->principal.origin->id : NULL;
		e.principal = f->principal.id[0] != '\0' ? f->principal.id :
		    NULL;
		e.action = "find";
		e.protocol = f->protocol;
		e.service = f->nservices > 0 ? f->services[0] : NULL;
		e.decision = &d;
		e.list = 1;
		e.list_found = f->found;
		e.list_hidden = f->hidden;
		e.coalesce = 1;
		decision_log_add(f->a->log, &e);
	}
	if (f->inner_free != NULL)
		f->inner_free(f->inner_arg);
	for (i = 0; i < f->nservices; i++)
		free(f->services[i]);
	principal_clear(&f->principal);
	json_decref(f->nsm_path);
	free(f->last);
	free(f);
}

void
admission_set_budget(struct admission *a, int64_t budget_us)
{
	atomic_store(&a->budget_us, budget_us);
}

int
admission_filter_cut(const struct store_query *q, const char **last)
{
	const struct adm_filter	*f = q->match_arg;

	if (q->match != adm_filter_match || f == NULL || !f->cut)
		return 0;
	*last = f->last;
	return 1;
}

/*
 * A list no item of which can change the decision (the find rules look
 * at neither the records nor, when the items differ there, the
 * services) is decided once; returns 1 when that allowed it, 0 when the
 * items must be decided one by one.  Watches always go item by item, so
 * that they follow rule changes.
 */
static int
adm_list_once(struct admission *a, const struct admission_caller *cl,
    const char *const *services, size_t nservices, enum store_kind kind)
{
	struct policy_decision	 d;
	struct adm_ctx		 c;
	const char		*svc = NULL;
	size_t			 i;
	int			 allow = 0;

	adm_refresh(a);
	adm_ctx_init(&c, cl->principal, cl->remote_addr, cl->now, NULL,
	    "find");
	c.request.protocol = cl->protocol;
	c.request.nsm_path = cl->nsm_path;
	pthread_rwlock_rdlock(&a->lock);
	if (a->shape.find_endpoint || ((a->shape.find_service ||
	    a->shape.find_scoped) && (kind == STORE_SERVICE ||
	    nservices == 0)))
		goto out;
	if (kind == STORE_SERVICE || nservices == 0)
		allow = adm_decide(a, &c, NULL, NULL, NULL, NULL, &d);
	for (i = 0; i < nservices && kind == STORE_ENDPOINT && !allow; i++) {
		svc = services[i];
		allow = adm_decide(a, &c, svc, NULL, NULL, NULL, &d);
	}
	if (allow) {
		metrics_decision(a->metrics, "find", 1);
		adm_log(a, &c, svc, NULL, NULL, &d, ADM_LOG_COALESCE);
	}
out:
	pthread_rwlock_unlock(&a->lock);
	return allow;
}

int
admission_filter_list(struct admission *a, const struct admission_caller *cl,
    const char *const *services, size_t nservices, int watch,
    struct store_query *q, void (**match_free)(void *),
    struct nsreg_error *err)
{
	struct adm_filter	*f;
	struct adm_ctx		 c;
	size_t			 i;

	if (cl->principal->admin) {
		adm_ctx_init(&c, cl->principal, cl->remote_addr, cl->now, NULL,
		    "find");
		c.request.protocol = cl->protocol;
		metrics_decision(a->metrics, "find", 1);
		adm_log(a, &c, nservices > 0 ? services[0] : NULL, NULL, NULL,
		    NULL, ADM_LOG_BYPASS | ADM_LOG_COALESCE);
		return 0;
	}
	if (!watch && adm_list_once(a, cl, services, nservices, q->kind))
		return 0;
	if (nservices > sizeof(f->services) / sizeof(f->services[0]))
		return nsreg_error_set(err, NSREG_INVALID_ARGUMENT, "service",
		    "service: too many filters");
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto oom;
	for (i = 0; i < nservices; i++) {
		if ((f->services[i] = strdup(services[i])) == NULL) {
			while (i > 0)
				free(f->services[--i]);
			free(f);
			goto oom;
		}
	}
	f->nservices = nservices;
	f->a = a;
	f->kind = q->kind;
	if (principal_copy(&f->principal, cl->principal) == -1) {
		for (i = 0; i < nservices; i++)
			free(f->services[i]);
		principal_clear(&f->principal);
		free(f);
		goto oom;
	}
	snprintf(f->remote_addr, sizeof(f->remote_addr), "%s",
	    cl->remote_addr != NULL ? cl->remote_addr : "");
	f->time = cl->now;
	f->protocol = cl->protocol;
	f->nsm_path = json_incref((json_t *)cl->nsm_path);
	/* Watches decide event by event, for as long as they run. */
	f->budget_us = watch ? 0 : atomic_load(&a->budget_us);
	f->inner = q->match;
	f->inner_arg = q->match_arg;
	f->inner_free = *match_free;
	q->match = adm_filter_match;
	q->match_arg = f;
	*match_free = adm_filter_free;
	return 0;
oom:
	return nsreg_error_set(err, NSREG_INTERNAL, NULL, "out of memory");
}
