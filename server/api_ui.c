/*
 * api_ui.c - /ui/: the operator console's static files (DESIGN section 4
 * "Console"), compiled into the binary.  Anonymous: the files hold no
 * secrets; the console reads the API with the token it is given.  Every
 * answer carries a Content-Security-Policy that allows this origin only
 * and no inline script or style.
 */
#include "config.h"

#include <string.h>

#include "api.h"
#include "server.h"
#include "ui_files.h"

#define UI_CSP	"default-src 'self'; script-src 'self'; " \
	"style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

#define HTTP_MOVED_PERMANENTLY	301
#define HTTP_NOT_MODIFIED	304

/* Content types by file name suffix. */
static const struct ui_type {
	const char	*suffix;
	const char	*type;
} ui_types[] = {
	{ .suffix = ".html", .type = "text/html; charset=utf-8" },
	{ .suffix = ".js", .type = "text/javascript; charset=utf-8" },
	{ .suffix = ".css", .type = "text/css; charset=utf-8" },
	{ .suffix = ".svg", .type = "image/svg+xml" },
	{ .suffix = ".json", .type = "application/json" },
};

static const char *
ui_type_of(const char *name)
{
	size_t		 i, n = strlen(name), sl;
	const char	*type = "application/octet-stream";

	for (i = 0; i < sizeof(ui_types) / sizeof(ui_types[0]); i++) {
		sl = strlen(ui_types[i].suffix);
		if (n > sl && strcmp(name + n - sl, ui_types[i].suffix) == 0) {
			type = ui_types[i].type;
			break;
		}
	}
	return type;
}

static void
ui_security_headers(struct http_request *req)
{
	http_add_header(req, "Content-Security-Policy", UI_CSP);
	http_add_header(req, "Referrer-Policy", "no-referrer");
	http_add_header(req, "X-Frame-Options", "DENY");
}

/* 1 when If-None-Match lists etag (or is "*"), else 0. */
static int
ui_etag_matches(const struct http_request *req, const char *etag)
{
	const char	*inm, *p;
	size_t		 el = strlen(etag);
	int		 match = 0;

	if ((inm = http_header(req, "If-None-Match")) == NULL)
		goto out;
	if (strcmp(inm, "*") == 0) {
		match = 1;
		goto out;
	}
	/* A weak validator W/"x" compares equal too (RFC 9110). */
	for (p = inm; !match && (p = strstr(p, etag)) != NULL; p += el)
		match = p[el] == '\0' || p[el] == ',' || p[el] == ' ';
out:
	return match;
}

/* Answer f with its headers, or 304 when the client holds it. */
static void
ui_serve_file(struct http_request *req, const struct ui_file *f)
{
	ui_security_headers(req);
	/* Revalidate every time: an upgraded binary serves new files. */
	http_add_header(req, "Cache-Control", "no-cache");
	http_add_header(req, "ETag", f->etag);
	if (ui_etag_matches(req, f->etag))
		http_reply_text(req, HTTP_NOT_MODIFIED, NULL, "", 0);
	else
		http_reply_text(req, HTTP_OK, ui_type_of(f->name),
		    (const char *)f->data, f->len);
}

static void
ui_serve(struct http_request *req, const char *name)
{
	const struct ui_file	*f;
	struct nsreg_error	 err;

	for (f = ui_files; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			break;
	if (f->name != NULL) {
		ui_serve_file(req, f);
	} else {
		nsreg_error_set(&err, NSREG_NOT_FOUND, NULL,
		    "no such file: /ui/%s", name);
		http_reply_error(req, &err);
	}
}

void
api_ui_redirect(struct server *srv, struct http_request *req)
{
	(void)srv;
	ui_security_headers(req);
	http_add_header(req, "Location", "/ui/");
	http_reply_text(req, HTTP_MOVED_PERMANENTLY, "text/plain",
	    "/ui/\n", 5);
}

void
api_ui_index(struct server *srv, struct http_request *req)
{
	(void)srv;
	ui_serve(req, "index.html");
}

void
api_ui_file(struct server *srv, struct http_request *req)
{
	(void)srv;
	ui_serve(req, req->params[0]);
}
