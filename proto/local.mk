# proto/: the NSM registry protocol (DESIGN section 4), C generated at
# build time by protoc-c into the build tree.

PROTO_FILES = $(top_srcdir)/proto/registry.proto \
	$(top_srcdir)/proto/google/protobuf/empty.proto \
	$(top_srcdir)/proto/google/protobuf/timestamp.proto
PROTO_GEN = proto/registry.pb-c.c proto/registry.pb-c.h \
	proto/google/protobuf/empty.pb-c.c \
	proto/google/protobuf/empty.pb-c.h \
	proto/google/protobuf/timestamp.pb-c.c \
	proto/google/protobuf/timestamp.pb-c.h
EXTRA_DIST += $(PROTO_FILES)
BUILT_SOURCES += proto/registry.stamp
CLEANFILES += $(PROTO_GEN) proto/registry.stamp

# One protoc-c run writes every file: a stamp stands for all of them.
# protoc-c names the service member of rpc Register "register", a C
# keyword: it becomes register_ (nsreg serves gRPC itself, grpc.c, and
# uses the generated messages only).
proto/registry.stamp: $(PROTO_FILES)
	$(AM_V_GEN)$(MKDIR_P) proto && \
	$(PROTOC_C) -I$(top_srcdir)/proto --c_out=proto $(PROTO_FILES) && \
	sed 's/(\*register)(/(*register_)(/' proto/registry.pb-c.h \
	    > proto/registry.pb-c.h.tmp && \
	mv proto/registry.pb-c.h.tmp proto/registry.pb-c.h && \
	touch $@
$(PROTO_GEN): proto/registry.stamp

# Generated code: compiled without our warning set, which it does not
# aim at.
noinst_LIBRARIES += proto/libnsregproto.a
nodist_proto_libnsregproto_a_SOURCES = $(PROTO_GEN)
proto_libnsregproto_a_CFLAGS = $(SAN_CFLAGS) $(PROTOBUF_C_CFLAGS)
