/*
 * bare_mhd.c - the ceiling: a bare libmicrohttpd TLS handler answering a
 * fixed 100-byte JSON body, with the same thread model as nsregd (epoll,
 * thread pool) and a client certificate requested.
 *
 * bare_mhd PORT CERT KEY TRUST [THREADS]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

static const char bare_body[] =
    "{\"status\":\"ok\",\"items\":[],\"revision\":1,\"note\":\"a fixed "
    "body of one hundred bytes..\"}\n";

static char *
bare_read(const char *path)
{
	FILE	*f = fopen(path, "rb");
	char	*s;
	long	 n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	if (fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

static enum MHD_Result
bare_handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **ctx)
{
	static int		 first;
	struct MHD_Response	*r;
	enum MHD_Result		 rc;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	/* Answer from the second call: a first-call answer closes. */
	if (*ctx == NULL) {
		*ctx = &first;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(sizeof(bare_body) - 1,
	    (void *)bare_body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/json");
	rc = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct MHD_Daemon	*d;
	sigset_t		 set;
	char			*cert, *key, *trust;
	int			 sig;

	if (argc < 5)
		return 2;
	cert = bare_read(argv[2]);
	key = bare_read(argv[3]);
	trust = bare_read(argv[4]);
	if (cert == NULL || key == NULL || trust == NULL)
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TLS,
	    (unsigned short)strtol(argv[1], NULL, 10), NULL, NULL, bare_handler, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned int)(argc > 5 ? strtol(argv[5], NULL, 10) : 2),
	    MHD_OPTION_CONNECTION_LIMIT, 10000u,
	    MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
	    MHD_OPTION_HTTPS_MEM_TRUST, trust,
	    MHD_OPTION_HTTPS_PRIORITIES,
	    "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-DTLS-ALL",
	    MHD_OPTION_END);
	if (d == NULL)
		return 1;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
