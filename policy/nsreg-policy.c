/*
 * nsreg-policy - check, evaluate and test admission rules offline.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "policy_tz.h"

int
main(int argc, char *argv[])
{
	struct policy_tzdb *db = policy_tzdb_new(NULL);
	int rc;

	if (argc >= 2 && strcmp(argv[1], "conformance") == 0) {
		rc = cli_conformance(db != NULL ? policy_tzdb_tz(db) : NULL);
		policy_tzdb_free(db);
		return rc;
	}
	fprintf(stderr, "usage: nsreg-policy conformance\n");
	return 2;
}
