# server/ grants: endpoint selection, vL3 IPAM, grant tokens and the
# /v1/grants API (DESIGN section 4, "Grants").
server_libnsregd_a_SOURCES += \
	server/api_grants.c \
	server/grant.c server/grant.h \
	server/ipam.c server/ipam.h \
	server/select.c server/select.h
