# etc/: the example configuration and the systemd unit, built from
# templates with the configured paths substituted.
EXTRA_DIST += etc/nsregd.conf.in etc/nsregd.service.in
nodist_noinst_DATA = etc/nsregd.conf etc/nsregd.service
CLEANFILES += etc/nsregd.conf etc/nsregd.service

etc_edit = sed -e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g'
etc/nsregd.conf: $(top_srcdir)/etc/nsregd.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && \
	$(etc_edit) $(top_srcdir)/etc/nsregd.conf.in > $@.tmp && mv $@.tmp $@
etc/nsregd.service: $(top_srcdir)/etc/nsregd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && \
	$(etc_edit) $(top_srcdir)/etc/nsregd.service.in > $@.tmp && \
	mv $@.tmp $@

if SYSTEMD_UNIT
systemdsystemunit_DATA = etc/nsregd.service
endif

# The example configuration goes to $(sysconfdir)/nsreg/nsregd.conf
# unless a configuration is there already, which make install never
# overwrites; uninstall removes it only when nobody edited it.
nsregconfdir = $(sysconfdir)/nsreg
install-data-local: etc/nsregd.conf
	$(MKDIR_P) '$(DESTDIR)$(nsregconfdir)'
	@if test -f '$(DESTDIR)$(nsregconfdir)/nsregd.conf'; then \
	    echo "keeping $(DESTDIR)$(nsregconfdir)/nsregd.conf"; \
	else \
	    echo " $(INSTALL_DATA) etc/nsregd.conf '$(DESTDIR)$(nsregconfdir)/nsregd.conf'"; \
	    $(INSTALL_DATA) etc/nsregd.conf \
	        '$(DESTDIR)$(nsregconfdir)/nsregd.conf'; \
	fi
uninstall-local:
	@if cmp -s etc/nsregd.conf '$(DESTDIR)$(nsregconfdir)/nsregd.conf'; \
	then \
	    echo " rm -f '$(DESTDIR)$(nsregconfdir)/nsregd.conf'"; \
	    rm -f '$(DESTDIR)$(nsregconfdir)/nsregd.conf'; \
	fi

# make distcheck installs as a user, under its own prefix.
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$$dc_install_base/lib/systemd/system'

# The Debian packaging (dpkg-buildpackage -us -uc -b) and its test, run
# by .ci/run rather than make check.
EXTRA_DIST += debian/changelog debian/control debian/copyright \
	debian/nsreg.dirs debian/nsreg.docs debian/nsreg.postinst \
	debian/nsreg.postrm debian/rules debian/source/format tests/pkg/deb.sh
