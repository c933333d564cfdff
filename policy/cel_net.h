/*
 * cel_net.h - what the files of Kubernetes' network functions share:
 * cel_net.c (the functions, their table, checking and folding),
 * cel_net_ip.c (addresses and CIDRs) and cel_net_url.c (URLs).  Internal
 * to them; the rest of policy/ sees cel_ast.h.
 *
 * Parsers return NULL, or a static error message (the run-time error of
 * the CEL function); they allocate nothing except where they take a
 * struct cel_net_mem.
 */
#ifndef NSREG_CEL_NET_H
#define NSREG_CEL_NET_H

#include "cel_ast.h"

/* Where parsed values live: the program (p, folding) or else the arena. */
struct cel_net_mem {
	struct cel_program	*p;
	struct cel_arena	*a;
};
void	*cel_net_alloc(const struct cel_net_mem *m, size_t n);	/* NULL */

/* cel_net_ip.c */
const char	*cel_net_ip_parse(const char *s, size_t n,
		    struct cel_net_addr *x);
const char	*cel_net_cidr_parse(const char *s, size_t n,
		    struct cel_net_addr *x);
/* The canonical text (netip.Addr.String), NUL-terminated; its length. */
size_t		 cel_net_ip_format(const struct cel_net_addr *x, char *buf,
		    size_t cap);
int		 cel_net_addr_len(const struct cel_net_addr *x);  /* 4, 16 */
/* 1 when a and the network p agree on their first bits bits. */
int		 cel_net_prefix_contains(const struct cel_net_addr *p,
		    const struct cel_net_addr *a, unsigned int bits);
/* Clear the bits after x's prefix. */
void		 cel_net_mask(struct cel_net_addr *x);

enum cel_net_pred {
	CEL_NET_FAMILY,
	CEL_NET_UNSPECIFIED,
	CEL_NET_LOOPBACK,
	CEL_NET_LL_MULTICAST,
	CEL_NET_LL_UNICAST,
	CEL_NET_GLOBAL_UNICAST
};
/* netip.Addr's predicates (0 for CEL_NET_FAMILY). */
int		 cel_net_ip_is(const struct cel_net_addr *x,
		    enum cel_net_pred p);
const char	*cel_net_memrchr(const char *s, int c, size_t n);
int		 cel_net_hexval(int c);		/* -1: not hex */

/* cel_net_url.c */
/* url(): *out in m's memory, pointing into s (which must outlive it). */
const char	*cel_net_url_parse(const struct cel_net_mem *m, const char *s,
		    size_t n, struct cel_net_url **out);
int		 cel_net_url_valid(const char *s, size_t n);	/* isURL() */
/* url.Values of a raw query as a map of lists, in the arena. */
struct cel_value cel_net_url_query(struct cel_ctx *c,
		    const struct cel_node *n, const struct cel_value *q);
/* Go's splitHostPort: "[::1]:80" gives "::1" and "80". */
void		 cel_net_split_host_port(const struct cel_value *h,
		    struct cel_value *host, struct cel_value *port);

#endif
