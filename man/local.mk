# man/: mdoc pages, linted by make check.
