/*
 * cli.h - the parts of the nsreg-policy command.
 */
#ifndef NSREG_POLICY_CLI_H
#define NSREG_POLICY_CLI_H

#include "policy.h"

/* Serve the conformance harness on stdin/stdout; returns the exit code. */
int	cli_conformance(const struct policy_tz *tz);

#endif
