/*
 * principal.h - who is calling: the result of authentication, resolved
 * before any handler runs (DESIGN section 3).
 */
#ifndef NSREG_PRINCIPAL_H
#define NSREG_PRINCIPAL_H

#include <stdint.h>

#include <jansson.h>

#define PRINCIPAL_ID_MAX	2048	/* SPIFFE ID, bytes */
#define PRINCIPAL_TD_MAX	255	/* trust domain, bytes */

enum principal_auth {
	PRINCIPAL_ANONYMOUS = 0,
	PRINCIPAL_X509,		/* X.509-SVID client certificate */
	PRINCIPAL_JWT,		/* JWT-SVID bearer token */
	PRINCIPAL_ADMIN_TOKEN	/* the admin token */
};

struct principal {
	enum principal_auth	 auth;
	int			 admin;		/* has the admin role */
	char			 id[PRINCIPAL_ID_MAX + 1];  /* "" if none */
	char			 trust_domain[PRINCIPAL_TD_MAX + 1];
	size_t			 path_off;	/* path is id + path_off */
	int64_t			 expires_at;	/* ms since epoch, 0 = none */
	json_t			*claims;	/* JWT claims (owned) or NULL */
	/*
	 * On whose behalf a peer registry calls (owned) or NULL: set only
	 * when this server accepts that registry's statement (auth.h,
	 * auth_origin); never an admin, never with an origin of its own.
	 */
	struct principal	*origin;
};

/* "x509", "jwt", "admin" or "anonymous". */
const char	*principal_auth_name(enum principal_auth auth);

/* The path part of the SPIFFE ID ("" for none). Borrowed. */
const char	*principal_path(const struct principal *p);

/* Release what p owns (its origin too) and reset it to anonymous. */
void		 principal_clear(struct principal *p);

/*
 * Copy src into dst (claims reference is shared, counted; the origin is
 * copied).  Returns 0, or -1 when memory runs out (dst then has no
 * origin: callers must not go on as if it had none).
 */
int		 principal_copy(struct principal *dst,
		    const struct principal *src);

#endif
