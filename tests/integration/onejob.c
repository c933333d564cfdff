/*
 * onejob.c - a main for Criterion suites that must run one test at a
 * time: with several workers, Criterion 2.4.1's runner leaks a 48-byte
 * block of its own under LeakSanitizer, which fails the sanitizer build
 * though nothing of ours leaks.  Suites whose tests are few and long
 * (raw framing tables, live attacks) link this instead of Criterion's
 * main.
 */
#include "config.h"

#include <criterion/criterion.h>

int
main(int argc, char *argv[])
{
	struct criterion_test_set	*tests;
	int				 status = 0;

	tests = criterion_initialize();
	if (criterion_handle_args(argc, argv, true)) {
		criterion_options.jobs = 1;
		status = !criterion_run_all_tests(tests);
	}
	criterion_finalize(tests);
	return status;
}
