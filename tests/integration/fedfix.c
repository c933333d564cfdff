/*
 * fedfix.c - the federation tests' HTTPS server (fedfix.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "fedfix.h"
#include "util.h"

static int
fedfix_accept_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;	/* the test reads who it was, it does not judge */
}

static SSL_CTX *
fedfix_ctx(const char *chain_pem, const char *key_pem)
{
	SSL_CTX		*ctx;
	BIO		*bio;
	X509		*x;
	EVP_PKEY	*k;
	int		 first = 1;

	ctx = SSL_CTX_new(TLS_server_method());
	cr_assert_not_null(ctx);
	bio = BIO_new_mem_buf(chain_pem, -1);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (first) {
			cr_assert_eq(SSL_CTX_use_certificate(ctx, x), 1);
			X509_free(x);
			first = 0;
		} else
			cr_assert_eq(SSL_CTX_add_extra_chain_cert(ctx, x), 1);
	}
	ERR_clear_error();
	BIO_free(bio);
	bio = BIO_new_mem_buf(key_pem, -1);
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	cr_assert_not_null(k);
	cr_assert_eq(SSL_CTX_use_PrivateKey(ctx, k), 1);
	EVP_PKEY_free(k);
	BIO_free(bio);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, fedfix_accept_any);
	return ctx;
}

/* The client certificate's URI SAN into buf ("" when none). */
static void
fedfix_client_id(SSL *ssl, char *buf, size_t len)
{
	GENERAL_NAMES		*names;
	const GENERAL_NAME	*gn;
	X509			*x;
	int			 i;

	buf[0] = '\0';
	if ((x = SSL_get1_peer_certificate(ssl)) == NULL)
		return;
	names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type == GEN_URI) {
			snprintf(buf, len, "%.*s",
			    ASN1_STRING_length(gn->d.uniformResourceIdentifier),
			    (const char *)ASN1_STRING_get0_data(
			    gn->d.uniformResourceIdentifier));
			break;
		}
	}
	GENERAL_NAMES_free(names);
	X509_free(x);
}

static struct fedfix_route *
fedfix_route(struct fedfix *f, const char *path, int create)
{
	size_t	i;

	for (i = 0; i < f->nroutes; i++)
		if (strcmp(f->routes[i].path, path) == 0)
			return &f->routes[i];
	if (!create)
		return NULL;
	cr_assert_lt(f->nroutes, FEDFIX_ROUTES);
	memset(&f->routes[f->nroutes], 0, sizeof(f->routes[0]));
	snprintf(f->routes[f->nroutes].path,
	    sizeof(f->routes[0].path), "%s", path);
	f->routes[f->nroutes].status = 404;
	return &f->routes[f->nroutes++];
}

static int
fedfix_write_all(SSL *ssl, const char *p, size_t n)
{
	int	w;

	while (n > 0) {
		w = SSL_write(ssl, p, n > 65536 ? 65536 : (int)n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sleep ms in small steps, giving up when the fixture stops. */
static void
fedfix_sleep(struct fedfix *f, int ms)
{
	while (ms > 0 && !f->stop) {
		usleep(20 * 1000);
		ms -= 20;
	}
}

static void
fedfix_serve(struct fedfix *f, int fd)
{
	struct fedfix_route	*r, copy;
	SSL			*ssl;
	char			 req[16384], target[1024], head[1024];
	char			 client[512];
	size_t			 n = 0;
	int			 k, hdr;

	ssl = SSL_new(f->ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1)
		goto out;
	fedfix_client_id(ssl, client, sizeof(client));
	pthread_mutex_lock(&f->lock);
	f->handshakes++;
	pthread_mutex_unlock(&f->lock);
	while (n < sizeof(req) - 1) {
		if ((k = SSL_read(ssl, req + n, (int)(sizeof(req) - 1 -
		    n))) <= 0)
			goto out;
		n += (size_t)k;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	if (sscanf(req, "GET %1023s HTTP/1.1", target) != 1)
		goto out;
	pthread_mutex_lock(&f->lock);
	f->requests++;
	snprintf(f->last_target, sizeof(f->last_target), "%s", target);
	snprintf(f->client_id, sizeof(f->client_id), "%s", client);
	r = fedfix_route(f, target, 0);
	memset(&copy, 0, sizeof(copy));
	copy.status = 404;
	if (r != NULL) {
		r->hits++;
		copy = *r;
		copy.body = r->body != NULL ? malloc(r->len + 1) : NULL;
		if (copy.body != NULL)
			memcpy(copy.body, r->body, r->len + 1);
	}
	pthread_mutex_unlock(&f->lock);
	if (copy.hang) {
		while (!f->stop)
			usleep(20 * 1000);
		goto out2;
	}
	fedfix_sleep(f, copy.delay_ms);
	if (copy.body == NULL) {
		copy.body = strdup("{\"error\":{\"code\":\"not_found\","
		    "\"message\":\"fedfix: no such path\"}}");
		copy.len = strlen(copy.body);
	}
	hdr = snprintf(head, sizeof(head), "HTTP/1.1 %ld Test\r\n"
	    "Content-Type: application/json\r\nConnection: close\r\n",
	    copy.status);
	if (!copy.no_length)
		hdr += snprintf(head + hdr, sizeof(head) - hdr,
		    "Content-Length: %zu\r\n", copy.len);
	if (copy.location[0] != '\0')
		hdr += snprintf(head + hdr, sizeof(head) - hdr,
		    "Location: %s\r\n", copy.location);
	hdr += snprintf(head + hdr, sizeof(head) - hdr, "\r\n");
	if (fedfix_write_all(ssl, head, (size_t)hdr) == 0)
		fedfix_write_all(ssl, copy.body, copy.len);
	SSL_shutdown(ssl);
out2:
	free(copy.body);
out:
	SSL_free(ssl);
	close(fd);
}

static void *
fedfix_main(void *arg)
{
	struct fedfix	*f = arg;
	struct pollfd	 pfd;
	int		 c;

	while (!f->stop) {
		pfd.fd = f->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((c = accept(f->fd, NULL, NULL)) < 0)
			continue;
		fedfix_serve(f, c);
	}
	return NULL;
}

void
fedfix_start(struct fedfix *f, const struct svid_ca *ca, const char *id,
    const char *dns, unsigned int flags)
{
	struct svid_x509_req	 req;
	struct nsreg_error	 err;
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	const char		*ips[] = { "127.0.0.1" };
	const char		*dnss[1];
	char			*chain = NULL, *key = NULL;
	int			 one = 1;

	/* A client that hangs up must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	memset(f, 0, sizeof(*f));
	memset(&req, 0, sizeof(req));
	req.id = id;
	req.ip = ips;
	req.nip = 1;
	if (dns != NULL) {
		dnss[0] = dns;
		req.dns = dnss;
		req.ndns = 1;
	}
	req.flags = flags | (id == NULL ? SVID_X509_NO_URI : 0);
	cr_assert_eq(svid_x509_issue(ca, &req, util_now_ms(), &chain, &key,
	    &err), 0, "%s", err.message);
	f->ctx = fedfix_ctx(chain, key);
	free(chain);
	free(key);
	pthread_mutex_init(&f->lock, NULL);
	f->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(f->fd, 0);
	setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->fd, 16), 0);
	cr_assert_eq(getsockname(f->fd, (struct sockaddr *)&sa, &len), 0);
	f->port = ntohs(sa.sin_port);
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%u", f->port);
	cr_assert_eq(pthread_create(&f->thread, NULL, fedfix_main, f), 0);
}

void
fedfix_stop(struct fedfix *f)
{
	size_t	i;

	if (f->ctx == NULL)
		return;
	f->stop = 1;
	pthread_join(f->thread, NULL);
	close(f->fd);
	for (i = 0; i < f->nroutes; i++)
		free(f->routes[i].body);
	SSL_CTX_free(f->ctx);
	f->ctx = NULL;
	pthread_mutex_destroy(&f->lock);
}

void
fedfix_set(struct fedfix *f, const char *path, long status,
    const char *body, size_t len)
{
	struct fedfix_route	*r;

	pthread_mutex_lock(&f->lock);
	r = fedfix_route(f, path, 1);
	free(r->body);
	r->status = status;
	r->body = malloc(len + 1);
	cr_assert_not_null(r->body);
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->len = len;
	r->location[0] = '\0';
	pthread_mutex_unlock(&f->lock);
}

void
fedfix_set_json(struct fedfix *f, const char *path, long status, json_t *v)
{
	char	*s;

	cr_assert_not_null(v);
	s = json_dumps(v, JSON_COMPACT);
	cr_assert_not_null(s);
	fedfix_set(f, path, status, s, strlen(s));
	free(s);
	json_decref(v);
}

void
fedfix_set_redirect(struct fedfix *f, const char *path, long status,
    const char *location)
{
	struct fedfix_route	*r;

	fedfix_set(f, path, status, "", 0);
	pthread_mutex_lock(&f->lock);
	r = fedfix_route(f, path, 1);
	snprintf(r->location, sizeof(r->location), "%s", location);
	pthread_mutex_unlock(&f->lock);
}

void
fedfix_set_delay(struct fedfix *f, const char *path, int delay_ms, int hang)
{
	struct fedfix_route	*r;

	pthread_mutex_lock(&f->lock);
	r = fedfix_route(f, path, 1);
	r->delay_ms = delay_ms;
	r->hang = hang;
	pthread_mutex_unlock(&f->lock);
}

void
fedfix_set_no_length(struct fedfix *f, const char *path)
{
	struct fedfix_route	*r;

	pthread_mutex_lock(&f->lock);
	r = fedfix_route(f, path, 1);
	r->no_length = 1;
	pthread_mutex_unlock(&f->lock);
}

int
fedfix_hits(struct fedfix *f, const char *path)
{
	struct fedfix_route	*r;
	int			 n;

	pthread_mutex_lock(&f->lock);
	r = fedfix_route(f, path, 0);
	n = r != NULL ? r->hits : 0;
	pthread_mutex_unlock(&f->lock);
	return n;
}

int
fedfix_requests(struct fedfix *f)
{
	int	n;

	pthread_mutex_lock(&f->lock);
	n = f->requests;
	pthread_mutex_unlock(&f->lock);
	return n;
}

int
fedfix_handshakes(struct fedfix *f)
{
	int	n;

	pthread_mutex_lock(&f->lock);
	n = f->handshakes;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void
fedfix_last(struct fedfix *f, char *target, size_t tlen, char *client,
    size_t clen)
{
	pthread_mutex_lock(&f->lock);
	if (target != NULL)
		snprintf(target, tlen, "%s", f->last_target);
	if (client != NULL)
		snprintf(client, clen, "%s", f->client_id);
	pthread_mutex_unlock(&f->lock);
}
