# vpnns - a per-application VPN for Linux.  Plain GNU make.
#
#   make                 build vpnns
#   make check           unit + integration tests (integration needs root:
#                        it creates a test user and network namespaces)
#   make bench           benchmarks, figures as ratios against a reference
#   make demo            a local VPN lab, and vpnns -- curl through it
#   make fuzz            libFuzzer targets (clang), FUZZ_SECONDS each
#   make install         PREFIX=/usr/local DESTDIR= honoured everywhere

PREFIX      ?= /usr/local
prefix      ?= $(PREFIX)
exec_prefix ?= $(prefix)
bindir      ?= $(exec_prefix)/bin
libdir      ?= $(exec_prefix)/lib
libexecdir  ?= $(exec_prefix)/libexec
datarootdir ?= $(prefix)/share
mandir      ?= $(datarootdir)/man
man1dir     ?= $(mandir)/man1
man8dir     ?= $(mandir)/man8
pluginsdir  ?= $(libdir)/openvpn/plugins

CC       ?= cc
CFLAGS   ?= -O2 -g
PKG_CONFIG ?= pkg-config
VERSION  := 0.1.0
PKGS     := glib-2.0 libnl-3.0 libnl-route-3.0 libcap

# Flags the build needs, kept apart from CFLAGS so a user's CFLAGS cannot
# drop them.
VPNNS_CFLAGS := -std=gnu11 -Wall -Wextra -Werror=missing-prototypes \
	-Werror=format=2 -Wshadow -Wno-unused-parameter \
	-D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
	-DG_LOG_DOMAIN='"vpnns"' -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 \
	-DVPNNS_VERSION='"$(VERSION)"' \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
VPNNS_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))


ifeq ($(SANITIZE),1)
VPNNS_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -U_FORTIFY_SOURCE
VPNNS_LDFLAGS += -fsanitize=address,undefined
endif

# Everything but main() goes into a static library the tests link too.
LIB_SRCS := $(filter-out src/vpnns.c,$(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:.c=.o)
HEADERS  := $(wildcard src/*.h)
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(UNIT_SRCS:.c=)

PLUGIN := openvpn-plugin/vpnns-openvpn.so

# The wrapper and the plug-in name the installed vpnns: rebuild them whenever
# the install paths change (make install PREFIX=... after a plain make).
PATHS_STAMP := .paths-$(subst /,_,$(bindir))-$(subst /,_,$(libexecdir))
$(PATHS_STAMP):
	rm -f .paths-*
	touch $@

all: vpnns vpnc-script/vpnns-vpnc-script $(PLUGIN)

# The plug-in links nothing but libc: it execs vpnns for the real work.  It
# is never built with the sanitizers: it is loaded into OpenVPN's process.
$(PLUGIN): openvpn-plugin/vpnns-openvpn.c openvpn-plugin/vpnns-openvpn.map src/ovpnproto.h Makefile $(PATHS_STAMP)
	$(CC) -std=gnu11 -Wall -Wextra -Werror=missing-prototypes -D_GNU_SOURCE \
		-D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIC -shared -fvisibility=hidden \
		-DVPNNS_BIN='"$(bindir)/vpnns"' $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) \
		-Wl,--version-script=openvpn-plugin/vpnns-openvpn.map -o $@ $<

src/%.o: src/%.c $(HEADERS) Makefile
	$(CC) $(VPNNS_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

src/libvpnns.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

vpnns: src/vpnns.o src/libvpnns.a
	$(CC) $(VPNNS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(VPNNS_LIBS)

tests/unit/test-%: tests/unit/test-%.c tests/unit/fixture.h src/libvpnns.a $(HEADERS) Makefile
	$(CC) $(VPNNS_CFLAGS) -Isrc $(CPPFLAGS) $(CFLAGS) $(VPNNS_LDFLAGS) $(LDFLAGS) \
		-o $@ $< src/libvpnns.a $(VPNNS_LIBS)

check: check-unit check-integration

tests/unit/test-plugin: LDFLAGS += -ldl

check-unit: all $(UNIT_BINS)
	@tests/run-tap.sh $(UNIT_BINS)

# The integration tests create a test user and namespaces: they run as
# root, through sudo when make itself does not.
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo --preserve-env=CI,VPNNS_DEBUG)

TOOLS := tests/tools/tuntap-peer tests/tools/fake-holder tests/tools/leak-listener

tests/tools/%: tests/tools/%.c Makefile
	$(CC) -std=gnu11 -O2 -Wall -Wextra $(CFLAGS) $(LDFLAGS) -o $@ $<

vpnc-script/vpnns-vpnc-script: vpnc-script/vpnns-vpnc-script.in Makefile $(PATHS_STAMP)
	sed -e 's|@BINDIR@|$(bindir)|g' -e 's|@LIBEXECDIR@|$(libexecdir)|g' $< > $@
	chmod 755 $@

check-integration: vpnns $(TOOLS) vpnc-script/vpnns-vpnc-script $(PLUGIN)
	@$(AS_ROOT) tests/setup.sh
	@$(AS_ROOT) tests/run-tap.sh tests/integration/*.sh

bench: vpnns
	@$(AS_ROOT) tests/setup.sh
	@for b in tests/bench/*.sh; do $(AS_ROOT) bash "$$b" || exit 1; done

# A local ocserv lab, openconnect without root, a browser's-eye view
demo: all
	@$(AS_ROOT) bash tests/demo.sh

# libFuzzer targets for every parser of untrusted input (needs clang)
fuzz:
	tests/fuzz/run.sh

lint-man:
	mandoc -Tlint -W warning man/*.[0-9]

install: all
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(man1dir) $(DESTDIR)$(man8dir) \
		$(DESTDIR)$(libexecdir)/vpnns $(DESTDIR)$(pluginsdir)
	install -m 0755 vpnns $(DESTDIR)$(bindir)/vpnns
	install -m 0755 vpnc-script/vpnns-vpnc-script $(DESTDIR)$(libexecdir)/vpnns/vpnc-script
	ln -sf vpnc-script $(DESTDIR)$(libexecdir)/vpnns/openvpn-tun
	install -m 0755 $(PLUGIN) $(DESTDIR)$(pluginsdir)/vpnns-openvpn.so
	install -m 0644 man/vpnns.1 $(DESTDIR)$(man1dir)/vpnns.1
	for m in man/*.8; do [ ! -f "$$m" ] || install -m 0644 "$$m" $(DESTDIR)$(man8dir)/; done

uninstall:
	rm -f $(DESTDIR)$(bindir)/vpnns $(DESTDIR)$(man1dir)/vpnns.1
	rm -f $(DESTDIR)$(libexecdir)/vpnns/vpnc-script $(DESTDIR)$(libexecdir)/vpnns/openvpn-tun
	-rmdir $(DESTDIR)$(libexecdir)/vpnns 2>/dev/null
	rm -f $(DESTDIR)$(pluginsdir)/vpnns-openvpn.so
	for m in man/*.8; do [ ! -f "$$m" ] || rm -f $(DESTDIR)$(man8dir)/$${m#man/}; done

clean:
	rm -f vpnns src/*.o src/*.a $(UNIT_BINS) $(TOOLS) vpnc-script/vpnns-vpnc-script $(PLUGIN) .paths-*
	rm -rf tests/fuzz/build

.PHONY: all check check-unit check-integration bench demo fuzz lint-man install uninstall clean
