# man/: mdoc pages, linted by make check (tests/man-lint.sh).
dist_man_MANS += man/nsregd.8 man/nsregd.conf.5 man/nsreg-api.7
