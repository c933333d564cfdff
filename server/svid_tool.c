/*
 * svid_tool.c - nsreg-svid: mint SVIDs and bundles from a development CA
 * directory, for tests and trials (nsreg-svid(1)).  Production identities
 * come from SPIRE.
 *
 * Exit status: 0 done, 1 the operation failed, 2 bad usage.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "spiffe.h"
#include "svid.h"
#include "util.h"

#define EXIT_USAGE	2
#define TOOL_NAMES_MAX	32	/* --dns, --ip, --aud given at most */

enum tool_opt {
	OPT_DNS = 256,
	OPT_IP,
	OPT_TTL,
	OPT_AUD,
	OPT_KID,
	OPT_FORMAT,
	OPT_INTERMEDIATE,
	OPT_CA_LEAF,
	OPT_NO_DIGITAL_SIGNATURE,
	OPT_KEY_CERT_SIGN,
	OPT_CRL_SIGN,
	OPT_NO_KEY_USAGE,
	OPT_NO_URI,
	OPT_EXTRA_URI,
	OPT_NO_EKU,
	OPT_NOT_BEFORE,
	OPT_NOT_AFTER
};

static const struct option tool_options[] = {
	{ "dir",		required_argument, NULL, 'd' },
	{ "output",		required_argument, NULL, 'o' },
	{ "key",		required_argument, NULL, 'k' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "dns",		required_argument, NULL, OPT_DNS },
	{ "ip",			required_argument, NULL, OPT_IP },
	{ "ttl",		required_argument, NULL, OPT_TTL },
	{ "aud",		required_argument, NULL, OPT_AUD },
	{ "kid",		required_argument, NULL, OPT_KID },
	{ "format",		required_argument, NULL, OPT_FORMAT },
	{ "intermediate",	no_argument,	   NULL, OPT_INTERMEDIATE },
	{ "ca-leaf",		no_argument,	   NULL, OPT_CA_LEAF },
	{ "no-digital-signature", no_argument,	   NULL,
	    OPT_NO_DIGITAL_SIGNATURE },
	{ "key-cert-sign",	no_argument,	   NULL, OPT_KEY_CERT_SIGN },
	{ "crl-sign",		no_argument,	   NULL, OPT_CRL_SIGN },
	{ "no-key-usage",	no_argument,	   NULL, OPT_NO_KEY_USAGE },
	{ "no-uri",		no_argument,	   NULL, OPT_NO_URI },
	{ "extra-uri",		required_argument, NULL, OPT_EXTRA_URI },
	{ "no-eku",		no_argument,	   NULL, OPT_NO_EKU },
	{ "not-before",		required_argument, NULL, OPT_NOT_BEFORE },
	{ "not-after",		required_argument, NULL, OPT_NOT_AFTER },
	{ NULL,			0,		   NULL, 0 }
};

/* Everything the command line says. */
struct tool {
	const char	*dir;
	const char	*output;
	const char	*keyout;
	const char	*kid;
	const char	*format;
	const char	*dns[TOOL_NAMES_MAX];
	size_t		 ndns;
	const char	*ip[TOOL_NAMES_MAX];
	size_t		 nip;
	const char	*aud[TOOL_NAMES_MAX];
	size_t		 naud;
	int64_t		 ttl_ms;
	int64_t		 not_before_ms;
	int64_t		 not_after_ms;
	const char	*extra_uri;
	unsigned int	 flags;
	char		*args[2];	/* the command and its argument */
	int		 nargs;
};

static void
tool_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: nsreg-svid [-d dir] ca [trust-domain] [--ttl duration]\n"
	    "       nsreg-svid [-d dir] x509 spiffe-id [--dns name]... "
	    "[--ip address]...\n"
	    "                  [--ttl duration] [--intermediate] "
	    "[-o cert-file] [-k key-file]\n"
	    "       nsreg-svid [-d dir] jwt spiffe-id --aud audience... "
	    "[--ttl duration]\n"
	    "                  [--kid kid] [-o file]\n"
	    "       nsreg-svid [-d dir] bundle [--format spiffe|pem] "
	    "[-o file]\n"
	    "test options of x509: --ca-leaf --no-digital-signature "
	    "--key-cert-sign\n"
	    "  --crl-sign --no-key-usage --no-uri --extra-uri uri --no-eku\n"
	    "  --not-before time --not-after time\n");
}

static int
tool_fail(const struct nsreg_error *err)
{
	fprintf(stderr, "nsreg-svid: %s\n", err->message);
	return EXIT_FAILURE;
}

static int
tool_bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "nsreg-svid: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	tool_usage(stderr);
	return EXIT_USAGE;
}

/* Write data to path (mode for a new file), or to stdout when NULL. */
static int
tool_output(const char *path, const char *data, int mode)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		if (fputs(data, stdout) == EOF || fflush(stdout) == EOF) {
			fprintf(stderr, "nsreg-svid: stdout: %s\n",
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	if (util_file_write(path, data, strlen(data), mode) == -1) {
		fprintf(stderr, "nsreg-svid: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Parse the command line: options may come before or after the command
 * (getopt_long permutes), the command and at most one argument remain.
 * Returns 0, or EXIT_USAGE.
 */
static int
tool_parse(struct tool *t, int argc, char *argv[])
{
	int	ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:o:k:h", tool_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			t->dir = optarg;
			break;
		case 'o':
			t->output = optarg;
			break;
		case 'k':
			t->keyout = optarg;
			break;
		case 'h':
			tool_usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_DNS:
			if (t->ndns == TOOL_NAMES_MAX)
				return tool_bad("too many %s", "--dns");
			t->dns[t->ndns++] = optarg;
			break;
		case OPT_IP:
			if (t->nip == TOOL_NAMES_MAX)
				return tool_bad("too many %s", "--ip");
			t->ip[t->nip++] = optarg;
			break;
		case OPT_AUD:
			if (t->naud == TOOL_NAMES_MAX)
				return tool_bad("too many %s", "--aud");
			t->aud[t->naud++] = optarg;
			break;
		case OPT_TTL:
			if (util_duration_parse(optarg, &t->ttl_ms) == -1 ||
			    t->ttl_ms <= 0)
				return tool_bad("bad duration %s", optarg);
			break;
		case OPT_KID:
			t->kid = optarg;
			break;
		case OPT_FORMAT:
			t->format = optarg;
			break;
		case OPT_INTERMEDIATE:
			t->flags |= SVID_X509_INTERMEDIATE;
			break;
		case OPT_CA_LEAF:
			t->flags |= SVID_X509_CA;
			break;
		case OPT_NO_DIGITAL_SIGNATURE:
			t->flags |= SVID_X509_NO_DIGITAL_SIGNATURE;
			break;
		case OPT_KEY_CERT_SIGN:
			t->flags |= SVID_X509_KEY_CERT_SIGN;
			break;
		case OPT_CRL_SIGN:
			t->flags |= SVID_X509_CRL_SIGN;
			break;
		case OPT_NO_KEY_USAGE:
			t->flags |= SVID_X509_NO_KEY_USAGE;
			break;
		case OPT_NO_URI:
			t->flags |= SVID_X509_NO_URI;
			break;
		case OPT_EXTRA_URI:
			t->extra_uri = optarg;
			break;
		case OPT_NO_EKU:
			t->flags |= SVID_X509_NO_EKU;
			break;
		case OPT_NOT_BEFORE:
			if (util_rfc3339_parse(optarg, &t->not_before_ms) ==
			    -1)
				return tool_bad("bad time %s", optarg);
			break;
		case OPT_NOT_AFTER:
			if (util_rfc3339_parse(optarg, &t->not_after_ms) ==
			    -1)
				return tool_bad("bad time %s", optarg);
			break;
		default:
			tool_usage(stderr);
			return EXIT_USAGE;
		}
	}
	for (; optind < argc; optind++) {
		if (t->nargs == 2)
			return tool_bad("unexpected argument %s",
			    argv[optind]);
		t->args[t->nargs++] = argv[optind];
	}
	return 0;
}

static int
tool_ca(struct tool *t)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca;
	const char		*td = t->nargs > 0 ? t->args[0] : "example.org";
	int			 rc = EXIT_FAILURE;

	if (t->nargs > 1)
		return tool_bad("unexpected argument %s", t->args[1]);
	if ((ca = svid_ca_generate(td, util_now_ms(), t->ttl_ms, &err)) ==
	    NULL)
		return tool_fail(&err);
	if (svid_ca_save(ca, t->dir, &err) == -1)
		tool_fail(&err);
	else {
		printf("CA for trust domain %s in %s (jwt-svid kid %s)\n",
		    svid_ca_trust_domain(ca), t->dir, svid_ca_jwt_kid(ca));
		rc = EXIT_SUCCESS;
	}
	svid_ca_free(ca);
	return rc;
}

/* The one positional SPIFFE ID of x509 and jwt. */
static int
tool_id(const struct tool *t, const char *cmd)
{
	struct spiffe_id	 id;
	struct nsreg_error	 err;

	if (t->nargs != 1) {
		fprintf(stderr, "nsreg-svid: %s needs one SPIFFE ID\n", cmd);
		tool_usage(stderr);
		return EXIT_USAGE;
	}
	if (spiffe_id_parse(t->args[0], &id, &err) == -1)
		return tool_fail(&err);
	return 0;
}

static int
tool_x509(struct tool *t)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca;
	struct svid_x509_req	 req;
	char			*chain = NULL, *key = NULL, *both = NULL;
	size_t			 n;
	int			 rc;

	if ((rc = tool_id(t, "x509")) != 0)
		return rc;
	rc = EXIT_FAILURE;
	if ((ca = svid_ca_load(t->dir, &err)) == NULL)
		return tool_fail(&err);
	memset(&req, 0, sizeof(req));
	req.id = t->args[0];
	req.extra_uri = t->extra_uri;
	req.dns = t->dns;
	req.ndns = t->ndns;
	req.ip = t->ip;
	req.nip = t->nip;
	req.ttl_ms = t->ttl_ms;
	req.not_before_ms = t->not_before_ms;
	req.not_after_ms = t->not_after_ms;
	req.flags = t->flags;
	if (svid_x509_issue(ca, &req, util_now_ms(), &chain, &key,
	    &err) == -1) {
		tool_fail(&err);
		goto out;
	}
	if (t->keyout != NULL) {
		if (tool_output(t->output, chain, 0644) == -1 ||
		    tool_output(t->keyout, key, 0600) == -1)
			goto out;
	} else {
		/* One file (or stdout): the chain, then the key. */
		n = strlen(chain) + strlen(key) + 1;
		if ((both = malloc(n)) == NULL) {
			fprintf(stderr, "nsreg-svid: out of memory\n");
			goto out;
		}
		snprintf(both, n, "%s%s", chain, key);
		if (tool_output(t->output, both, 0600) == -1)
			goto out;
	}
	rc = EXIT_SUCCESS;
out:
	free(chain);
	free(key);
	free(both);
	svid_ca_free(ca);
	return rc;
}

static int
tool_jwt(struct tool *t)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca;
	struct svid_jwt_req	 req;
	char			*tok = NULL, *line = NULL;
	size_t			 n;
	int			 rc;

	if ((rc = tool_id(t, "jwt")) != 0)
		return rc;
	if (t->naud == 0) {
		fprintf(stderr, "nsreg-svid: jwt needs --aud\n");
		tool_usage(stderr);
		return EXIT_USAGE;
	}
	rc = EXIT_FAILURE;
	if ((ca = svid_ca_load(t->dir, &err)) == NULL)
		return tool_fail(&err);
	memset(&req, 0, sizeof(req));
	req.id = t->args[0];
	req.aud = t->aud;
	req.naud = t->naud;
	req.ttl_ms = t->ttl_ms;
	req.kid = t->kid;
	if (svid_jwt_issue(ca, &req, util_now_ms(), &tok, &err) == -1) {
		tool_fail(&err);
		goto out;
	}
	n = strlen(tok) + 2;
	if ((line = malloc(n)) == NULL) {
		fprintf(stderr, "nsreg-svid: out of memory\n");
		goto out;
	}
	snprintf(line, n, "%s\n", tok);
	if (tool_output(t->output, line, 0600) == -1)
		goto out;
	rc = EXIT_SUCCESS;
out:
	free(tok);
	free(line);
	svid_ca_free(ca);
	return rc;
}

static int
tool_bundle(struct tool *t)
{
	struct nsreg_error	 err;
	struct svid_ca		*ca;
	json_t			*doc = NULL;
	char			*text = NULL, *out = NULL;
	size_t			 n;
	int			 rc = EXIT_FAILURE, pem;

	if (t->nargs > 0)
		return tool_bad("unexpected argument %s", t->args[0]);
	if (t->format != NULL && strcmp(t->format, "spiffe") != 0 &&
	    strcmp(t->format, "pem") != 0)
		return tool_bad("unknown format %s", t->format);
	pem = t->format != NULL && strcmp(t->format, "pem") == 0;
	if ((ca = svid_ca_load(t->dir, &err)) == NULL)
		return tool_fail(&err);
	if (pem)
		out = svid_ca_bundle_pem(ca);
	else if ((doc = svid_ca_bundle_json(ca, 1,
	    SVID_REFRESH_HINT_DEFAULT)) != NULL &&
	    (text = json_dumps(doc, JSON_INDENT(2))) != NULL) {
		n = strlen(text) + 2;
		if ((out = malloc(n)) != NULL)
			snprintf(out, n, "%s\n", text);
	}
	if (out == NULL) {
		fprintf(stderr, "nsreg-svid: out of memory\n");
		goto done;
	}
	if (tool_output(t->output, out, 0644) == 0)
		rc = EXIT_SUCCESS;
done:
	json_decref(doc);
	free(text);
	free(out);
	svid_ca_free(ca);
	return rc;
}

static const struct tool_cmd {
	const char	*name;
	int		(*run)(struct tool *);
} tool_cmds[] = {
	{ .name = "ca",		.run = tool_ca },
	{ .name = "x509",	.run = tool_x509 },
	{ .name = "jwt",	.run = tool_jwt },
	{ .name = "bundle",	.run = tool_bundle },
};

int
main(int argc, char *argv[])
{
	struct tool	t;
	size_t		i;
	int		rc, cmd;

	memset(&t, 0, sizeof(t));
	t.dir = ".";
	if ((rc = tool_parse(&t, argc, argv)) != 0)
		return rc;
	if (t.nargs == 0) {
		tool_usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(tool_cmds) / sizeof(tool_cmds[0]); i++)
		if (strcmp(tool_cmds[i].name, t.args[0]) == 0)
			break;
	if (i == sizeof(tool_cmds) / sizeof(tool_cmds[0]))
		return tool_bad("unknown command %s", t.args[0]);
	cmd = (int)i;
	t.args[0] = t.args[1];
	t.args[1] = NULL;
	t.nargs--;
	return tool_cmds[cmd].run(&t);
}
