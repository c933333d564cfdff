/*
 * principal.c - who is calling (principal.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "principal.h"

static const char *const principal_auth_names[] = {
	[PRINCIPAL_ANONYMOUS] =		"anonymous",
	[PRINCIPAL_X509] =		"x509",
	[PRINCIPAL_JWT] =		"jwt",
	[PRINCIPAL_ADMIN_TOKEN] =	"admin",
};

const char *
principal_auth_name(enum principal_auth auth)
{
	if ((size_t)auth >= sizeof(principal_auth_names) /
	    sizeof(principal_auth_names[0]))
		return "anonymous";
	return principal_auth_names[auth];
}

const char *
principal_path(const struct principal *p)
{
	if (p->id[0] == '\0' || p->path_off > strlen(p->id))
		return "";
	return p->id + p->path_off;
}

void
principal_clear(struct principal *p)
{
	json_decref(p->claims);
	p->claims = NULL;
	if (p->origin != NULL) {
		principal_clear(p->origin);
		free(p->origin);
		p->origin = NULL;
	}
	p->auth = PRINCIPAL_ANONYMOUS;
	p->admin = 0;
	p->id[0] = '\0';
	p->trust_domain[0] = '\0';
	p->path_off = 0;
	p->expires_at = 0;
}

int
principal_copy(struct principal *dst, const struct principal *src)
{
	struct principal	*origin = NULL;
	json_t			*claims;

	if (dst == src)
		return 0;
	if (src->origin != NULL) {
		if ((origin = calloc(1, sizeof(*origin))) == NULL ||
		    principal_copy(origin, src->origin) == -1) {
			free(origin);
			origin = NULL;
		}
	}
	if (dst->origin != NULL) {
		principal_clear(dst->origin);
		free(dst->origin);
	}
	dst->origin = origin;
	/* Take the new reference first: src->claims may be dst->claims. */
	claims = json_incref(src->claims);
	json_decref(dst->claims);
	dst->auth = src->auth;
	dst->admin = src->admin;
	memcpy(dst->id, src->id, sizeof(dst->id));
	memcpy(dst->trust_domain, src->trust_domain,
	    sizeof(dst->trust_domain));
	dst->path_off = src->path_off;
	dst->expires_at = src->expires_at;
	dst->claims = claims;
	return src->origin != NULL && origin == NULL ? -1 : 0;
}
