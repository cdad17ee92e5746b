# plainsight: specs -> probec -> eBPF C + tables -> one binary.
# `make V=1` prints full commands. Everything built lands in $(OUT).

OUT       ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
CLANG     ?= clang
BISON     ?= bison
FLEX      ?= flex
BPFTOOL   ?= bpftool
LLVM_STRIP ?= llvm-strip
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

CFLAGS    ?= -O2 -g
WARNINGS  := -Wall -Wextra -Wno-unused-parameter
ALL_CFLAGS := -std=gnu11 $(WARNINGS) $(CFLAGS) -MMD -MP -D_GNU_SOURCE
# clang -target bpf does not search the multiarch include directory by itself.
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Wno-unused-function \
	-I$(OUT) -Ibpf-gen -I$(OUT)/gen -idirafter /usr/include/$(shell $(CC) -dumpmachine 2>/dev/null)
# runtime/ by stage, in the order data flows: target/ (what to attach to),
# bpf/ (loading and attaching), events/ (ring buffer to records), wire/ (packets
# to records: --from wire), http/ (records to HTTP messages), output/.
# output/stream/: the live outputs (--ecaptureq, --eventaddr, --logaddr).
RUNTIME_DIRS := runtime runtime/target runtime/bpf runtime/events runtime/wire runtime/http runtime/output \
	runtime/output/stream
RUNTIME_INC  := $(addprefix -I,$(RUNTIME_DIRS)) -I$(OUT)/proto
RUNTIME_LIBS := -lbpf -lelf -lz -ldl -lpthread -lnghttp2 -lbrotlidec -lprotobuf-c
# libpcap is loaded by the runtime when it captures packets (runtime/events/pcap_lib.h);
# the unit tests read the pcapng files they check with it, and compress test bodies with brotli
UNIT_LIBS := $(RUNTIME_LIBS) -lpcap -lbrotlienc

ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_OUT   := $(OUT)/asan

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-5s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all clean test unit e2e bench bench-tools deps run install probec offsets offsets-go asan check-deps fuzz

all: $(OUT)/plainsight

# ---- dependencies (Debian/Ubuntu) -------------------------------------------
DEB_BUILD := make gcc clang llvm libbpf-dev libelf-dev libpcap-dev zlib1g-dev libssl-dev libcapstone-dev \
	flex bison bpftool pkg-config linux-libc-dev binutils libclang-14-dev llvm-14 dpkg-dev libdw-dev \
	libnghttp2-dev libbrotli-dev libwebsockets-dev libprotobuf-c-dev protobuf-c-compiler
DEB_TEST  := openssl curl python3 iproute2 bash zsh tmux mariadb-server mariadb-client postgresql postgresql-client \
	debootstrap tshark tcpdump golang-go gnutls-bin nginx libgnutls28-dev wget git libwolfssl-dev libmbedtls-dev libnss3-tools \
	android-boringssl android-libboringssl-dev libnss3-dev libnspr4-dev firefox-esr python3-grpcio python3-h2 python3-httpx \
	python3-websockets python3-protobuf protobuf-compiler
DEB_ALL   := $(DEB_BUILD) $(DEB_TEST)

# Lists what is missing; `make deps` installs it, `run` and `test` only when needed.
missing_debs = $(shell dpkg-query -W -f='$${Package} $${Status}\n' $(1) 2>/dev/null | \
	awk '$$NF=="installed"{ok[$$1]=1} END{n=split("$(1)",w," "); for(i=1;i<=n;i++) if(!ok[w[i]]) printf "%s ", w[i]}')

# DEPS_FOR names the set: all (build and tests, the default) or build.
DEPS_FOR ?= all
DEPS_LIST = $(if $(filter build,$(DEPS_FOR)),$(DEB_BUILD),$(DEB_ALL))

deps:
	@need="$(call missing_debs,$(DEPS_LIST))"; \
	if [ -n "$$need" ]; then \
		echo "  DEPS  apt-get install $$need"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	else echo "  DEPS  all installed"; fi

check-deps:
	@need="$(call missing_debs,$(DEPS_LIST))"; [ -z "$$need" ] || $(MAKE) --no-print-directory deps

# ---- facts both programs compile ---------------------------------------------
# common/: what probec and the runtime must agree on (the version order), one
# source in both; tests/unit/version_order_test.c runs against each build.
COMMON_OBJS := $(patsubst %.c,$(OUT)/%.o,$(wildcard common/*.c))

$(OUT)/common/%.o: common/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) -Icommon -c -o $@ $<

$(ASAN_OUT)/common/%.o: common/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -Icommon -c -o $@ $<

# ---- the compiler -----------------------------------------------------------
COMPILER_SRCS := $(wildcard compiler/*.c)
COMPILER_OBJS := $(COMPILER_SRCS:%.c=$(OUT)/%.o) $(OUT)/compiler/parser.tab.o $(OUT)/compiler/lexer.o $(COMMON_OBJS)

$(OUT)/compiler/parser.tab.c $(OUT)/compiler/parser.tab.h: compiler/parser.y
	$(call msg,BISON,$<)
	$(Q)mkdir -p $(@D) && $(BISON) -Wall -Werror --defines=$(OUT)/compiler/parser.tab.h -o $(OUT)/compiler/parser.tab.c $<

$(OUT)/compiler/lexer.c $(OUT)/compiler/lexer.h: compiler/lexer.l
	$(call msg,FLEX,$<)
	$(Q)mkdir -p $(@D) && $(FLEX) --header-file=$(OUT)/compiler/lexer.h -o $(OUT)/compiler/lexer.c $<

$(OUT)/compiler/%.o: compiler/%.c $(OUT)/compiler/parser.tab.h $(OUT)/compiler/lexer.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) -Icompiler -Icommon -I$(OUT)/compiler -c -o $@ $<

# Generated scanner and parser: their own warnings are not ours to fix.
$(OUT)/compiler/parser.tab.o $(OUT)/compiler/lexer.o: $(OUT)/compiler/%.o: $(OUT)/compiler/%.c $(OUT)/compiler/parser.tab.h $(OUT)/compiler/lexer.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-sign-compare -Wno-unused-function -Icompiler -Icommon -I$(OUT)/compiler -c -o $@ $<

$(OUT)/probec: $(COMPILER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^

probec: $(OUT)/probec

# The compiler under ASan+UBSan, for its tests.
$(ASAN_OUT)/compiler/%.o: compiler/%.c $(OUT)/compiler/parser.tab.h $(OUT)/compiler/lexer.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -Icompiler -Icommon -I$(OUT)/compiler -c -o $@ $<

$(ASAN_OUT)/compiler/%.o: $(OUT)/compiler/%.c $(OUT)/compiler/parser.tab.h $(OUT)/compiler/lexer.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -Wno-sign-compare -Wno-unused-function -Icompiler -Icommon -I$(OUT)/compiler -c -o $@ $<

$(ASAN_OUT)/probec: $(COMPILER_OBJS:$(OUT)/%=$(ASAN_OUT)/%)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) -o $@ $^

# ---- specs -> generated code ------------------------------------------------
SPECS := $(sort $(wildcard specs/*/*.spec))

# probec writes every generated file and gen.mk, which names them for make.
# A spec's `layouts "DIR";` reads DIR/*.spec: they are inputs too, not specs of their own.
$(OUT)/gen/gen.mk: $(SPECS) $(wildcard specs/*/layouts/*.spec) $(OUT)/probec
	$(call msg,GEN,$(OUT)/gen)
	$(Q)rm -rf $(OUT)/gen.tmp && mkdir -p $(OUT)/gen.tmp && \
		$(OUT)/probec -o $(OUT)/gen.tmp $(SPECS) && \
		rm -rf $(OUT)/gen && mv $(OUT)/gen.tmp $(OUT)/gen

# Goals that run before the build tools may be installed do not read it.
GOALS := $(or $(MAKECMDGOALS),all)
ifneq ($(filter-out clean deps check-deps test run bench,$(GOALS)),)
-include $(OUT)/gen/gen.mk
endif

# ---- kernel half ------------------------------------------------------------
$(OUT)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D) && $(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

BPF_HEADERS := $(wildcard bpf-gen/*.h)

# DWARF is three quarters of an object and libbpf reads none of it (BTF
# stays): stripped, the embedded objects cost less to start and keep resident.
$(OUT)/bpf/%.bpf.o: $(OUT)/gen/%.bpf.c $(OUT)/vmlinux.h $(BPF_HEADERS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(BPF_CFLAGS) -c -o $@ $< && $(LLVM_STRIP) -g $@

# Hand-written BPF programs beside their user half in runtime/'s folders.
vpath %.bpf.c $(RUNTIME_DIRS)
$(OUT)/bpf/%.bpf.o: %.bpf.c $(OUT)/vmlinux.h $(BPF_HEADERS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(BPF_CFLAGS) -c -o $@ $< && $(LLVM_STRIP) -g $@

# ... embedded as ps_bpf_NAME .. ps_bpf_NAME_end, beside the generated ones.
RUNTIME_BPF_OBJS := $(patsubst %.bpf.c,$(OUT)/bpf/%.embed.o,$(notdir $(wildcard $(addsuffix /*.bpf.c,$(RUNTIME_DIRS)))))
GEN_OBJS += $(RUNTIME_BPF_OBJS)
.PRECIOUS: $(OUT)/bpf/%.bpf.o

$(OUT)/bpf/%.embed.o: $(OUT)/bpf/%.bpf.o
	$(call msg,AS,$@)
	$(Q)printf '\t.section .rodata\n\t.balign 8\n\t.globl ps_bpf_%s\nps_bpf_%s:\n\t.incbin "%s"\n\t.globl ps_bpf_%s_end\nps_bpf_%s_end:\n\t.section .note.GNU-stack,"",@progbits\n' \
		$* $* $< $* $* | $(CC) -c -x assembler -o $@ -

$(OUT)/gen/%.embed.o: $(OUT)/gen/%.embed.S $(OUT)/bpf/%.bpf.o
	$(call msg,AS,$@)
	$(Q)$(CC) -c -I$(OUT)/bpf -o $@ $<

$(OUT)/gen/%.o: $(OUT)/gen/%.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(RUNTIME_INC) -Icommon -Ibpf-gen -I$(OUT)/gen -c -o $@ $<

# ---- eCaptureQ's schema -> protobuf-c -----------------------------------------
PROTOC_C ?= protoc-c
PROTO_OBJS := $(OUT)/proto/ecaptureq.pb-c.o

$(OUT)/proto/ecaptureq.pb-c.c $(OUT)/proto/ecaptureq.pb-c.h &: runtime/output/stream/ecaptureq.proto
	$(call msg,GEN,$(OUT)/proto/ecaptureq.pb-c.c)
	$(Q)mkdir -p $(OUT)/proto && $(PROTOC_C) --proto_path=runtime/output/stream --c_out=$(OUT)/proto $<

$(OUT)/proto/%.o: $(OUT)/proto/%.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# ---- user half --------------------------------------------------------------
RUNTIME_SRCS := $(filter-out %.bpf.c,$(wildcard $(addsuffix /*.c,$(RUNTIME_DIRS))))
RUNTIME_OBJS := $(RUNTIME_SRCS:%.c=$(OUT)/%.o)
LIB_OBJS     := $(filter-out $(OUT)/runtime/main.o,$(RUNTIME_OBJS)) $(COMMON_OBJS) $(GEN_OBJS) $(PROTO_OBJS)

# The stream's sources include the generated header: it exists before they compile.
$(filter $(OUT)/runtime/output/stream/%.o $(ASAN_OUT)/runtime/output/stream/%.o,$(RUNTIME_OBJS) \
	$(RUNTIME_OBJS:$(OUT)/%=$(ASAN_OUT)/%)): $(OUT)/proto/ecaptureq.pb-c.h

$(OUT)/runtime/%.o: runtime/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) $(RUNTIME_INC) -Icommon -Ibpf-gen -I$(OUT)/gen -c -o $@ $<

$(OUT)/libplainsight.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUT)/plainsight: $(OUT)/runtime/main.o $(OUT)/libplainsight.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(RUNTIME_LIBS)

# ---- sanitizer build of the user half ---------------------------------------

$(ASAN_OUT)/runtime/%.o: runtime/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) $(RUNTIME_INC) -Icommon -Ibpf-gen -I$(OUT)/gen -c -o $@ $<

$(ASAN_OUT)/plainsight: $(RUNTIME_OBJS:$(OUT)/%=$(ASAN_OUT)/%) $(COMMON_OBJS:$(OUT)/%=$(ASAN_OUT)/%) $(GEN_OBJS) $(PROTO_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(RUNTIME_LIBS)

asan: $(ASAN_OUT)/plainsight

# ---- offsets tool (see offsets/README.md) ----------------------------------
# Its objects live apart from $(OUT)/offsets, which is the binary.
OFFSETS_CFLAGS := -I$(shell llvm-config-14 --includedir 2>/dev/null || echo /usr/lib/llvm-14/include)
OFFSETS_LIBS   := -lclang-14 -ldw -lelf
OFFSETS_OBJS   := $(patsubst offsets/%.c,$(OUT)/offsets-obj/%.o,$(wildcard offsets/*.c))

$(OUT)/offsets-obj/%.o: offsets/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) $(OFFSETS_CFLAGS) -c -o $@ $<

$(OUT)/offsets: $(OFFSETS_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(OFFSETS_LIBS)

# make offsets SRC=<openssl source tree> [OPTIONS=...] [ORIGIN=...]: writes (or
# rewrites) specs/openssl/layouts/NAME.spec for that version; any other
# library through its recipe, into the layouts beside it (SRC: its source
# tree; none for a recipe that reads installed headers):
#   make offsets RECIPE=specs/gnutls/offsets.recipe SRC=<gnutls28 source tree>
# (offsets/README.md).
offsets: $(OUT)/offsets
ifdef RECIPE
	$(Q)$(OUT)/offsets --recipe $(RECIPE) --layouts $(dir $(RECIPE))layouts \
		$(if $(ORIGIN),--origin "$(ORIGIN)") $(SRC)
else
	@[ -n "$(SRC)" ] || { echo "usage: make offsets SRC=<openssl source tree> [OPTIONS=...] [ORIGIN=...], or make offsets RECIPE=specs/LIB/offsets.recipe [SRC=<source tree>]" >&2; exit 2; }
	$(Q)$(OUT)/offsets --spec specs/openssl/openssl.spec --module tls --layouts specs/openssl/layouts \
		$(if $(ORIGIN),--origin "$(ORIGIN)") $(OPTIONS) $(SRC)
endif

# make offsets-go [GO=<a Go toolchain's bin/go>] [LAYOUTS=DIR]: builds
# tests/go/fixture with that Go and writes specs/gotls/layouts/goX.Y.spec from
# its DWARF (offsets/README.md, "Go programs"). A toolchain unpacked from a
# Debian package (tests/corpus/fetch.sh) runs with GOROOT beside its bin/.
GO ?= go
GOTLS_TYPES := --type tls_conn=crypto/tls.Conn --type 'go_itab=runtime.itab|internal/abi.ITab' --type tcp_conn=net.TCPConn \
	--type net_fd=net.netFD --itab-hash 'tcpconn_itab_hash=*net.TCPConn,net.Conn'
offsets-go: $(OUT)/offsets
	$(Q)work=$$(mktemp -d) && trap 'chmod -R u+w "$$work"; rm -rf "$$work"' EXIT && \
	goroot=$$(cd "$$(dirname "$$(readlink -f "$$(command -v $(GO))")")/.." && pwd) && \
	( cd tests/go/fixture && GOROOT=$$goroot GOCACHE=$$work/cache GOFLAGS=-mod=mod CGO_ENABLED=0 \
		$(GO) build -ldflags=-compressdwarf=false -o $$work/fixture . ) && \
	$(OUT)/offsets --dwarf $$work/fixture --spec specs/gotls/gotls.spec --module gotls \
		--layouts $(or $(LAYOUTS),specs/gotls/layouts) --origin tests/go/fixture $(GOTLS_TYPES)

# ---- tests --------------------------------------------------------------------
UNIT_SRCS := $(wildcard tests/unit/*_test.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(OUT)/tests/%)
ASAN_UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(ASAN_OUT)/tests/%)

$(OUT)/tests/%: tests/unit/%.c $(OUT)/libplainsight.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) $(RUNTIME_INC) -Icommon -Ibpf-gen -I$(OUT)/gen -Itests/unit -o $@ $< $(OUT)/libplainsight.a $(UNIT_LIBS)

$(ASAN_OUT)/tests/%: tests/unit/%.c $(filter-out $(ASAN_OUT)/runtime/main.o,$(RUNTIME_OBJS:$(OUT)/%=$(ASAN_OUT)/%)) $(COMMON_OBJS:$(OUT)/%=$(ASAN_OUT)/%) $(GEN_OBJS) $(PROTO_OBJS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) $(RUNTIME_INC) -Icommon -Ibpf-gen -I$(OUT)/gen -Itests/unit -o $@ $(filter-out %.h,$^) $(UNIT_LIBS)

# The version order's test once more, linked against probec's objects instead
# of the runtime's library: both programs must pass it from the one source.
UNIT_BINS += $(OUT)/tests/version_order_test-probec
ASAN_UNIT_BINS += $(ASAN_OUT)/tests/version_order_test-probec

$(OUT)/tests/version_order_test-probec: tests/unit/version_order_test.c $(filter-out $(OUT)/compiler/main.o,$(COMPILER_OBJS))
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) -DVERSION_ORDER_BUILD='"probec"' -Icommon -Itests/unit -o $@ $^

$(ASAN_OUT)/tests/version_order_test-probec: tests/unit/version_order_test.c $(filter-out $(ASAN_OUT)/compiler/main.o,$(COMPILER_OBJS:$(OUT)/%=$(ASAN_OUT)/%))
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -DVERSION_ORDER_BUILD='"probec"' -Icommon -Itests/unit -o $@ $^

# tests/unit/callgraph_test.c's small library: one copy with its symbol table, one stripped.
$(OUT)/tests/libcallgraph_fixture.so: tests/unit/callgraph_fixture.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) -O2 -fPIC -shared -o $@ $<

$(OUT)/tests/libcallgraph_fixture.stripped.so: tests/unit/callgraph_fixture.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) -O2 -fPIC -shared -s -o $@ $<

CALLGRAPH_FIXTURES := $(OUT)/tests/libcallgraph_fixture.so $(OUT)/tests/libcallgraph_fixture.stripped.so

# ---- fuzz targets (libFuzzer: clang) -------------------------------------------
# tests/fuzz/NAME_fuzz.c, each linked with the pure sources it exercises
# (FUZZ_LIB: by default the wire path and the HTTP parsers), built with
# coverage, ASan and UBSan. `make unit` runs each a few seconds
# (tests/unit/fuzz.sh); `make fuzz` for FUZZ_TIME seconds each, its corpus
# kept in $(OUT)/fuzz/corpus-NAME.
FUZZ_SRCS     := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_BINS     := $(FUZZ_SRCS:tests/fuzz/%.c=$(OUT)/fuzz/%)
FUZZ_LIB_SRCS := $(filter-out runtime/wire/wire_output.c,$(wildcard runtime/wire/*.c)) runtime/output/hkdf.c runtime/log.c \
	$(wildcard runtime/http/*.c) runtime/output/output_http.c runtime/output/format.c
FUZZ_FLAGS    := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_TIME     ?= 300

# The targets with sources of their own: the compiler's passes; the target
# readers (ELF, version, Go tables, ld.so cache, the capstone decoders of the
# call graph and the accessors) and the record path (the reassembler, the
# writers), these with the generated module tables.
FUZZ_OWN_LIB  := spec_fuzz elf_fuzz ldcache_fuzz assemble_fuzz writers_fuzz disasm_fuzz verdict_fuzz
FUZZ_GEN_LIB  := $(filter $(OUT)/gen/%.tables.o $(OUT)/gen/modules.gen.o %.embed.o,$(GEN_OBJS))
$(filter-out $(FUZZ_OWN_LIB:%=$(OUT)/fuzz/%),$(FUZZ_BINS)): FUZZ_LIB = $(FUZZ_LIB_SRCS)
$(OUT)/fuzz/spec_fuzz: FUZZ_LIB = $(filter-out compiler/main.c,$(COMPILER_SRCS)) $(wildcard common/*.c) \
	$(OUT)/compiler/parser.tab.c $(OUT)/compiler/lexer.c
$(OUT)/fuzz/spec_fuzz: FUZZ_CFLAGS = -Icompiler -I$(OUT)/compiler -Wno-sign-compare -Wno-unused-function
$(OUT)/fuzz/elf_fuzz: FUZZ_LIB = $(addprefix runtime/target/,elf_file.c version.c gopclntab.c ldcache.c names.c) \
	$(wildcard common/*.c) $(FUZZ_GEN_LIB)
$(OUT)/fuzz/ldcache_fuzz: FUZZ_LIB = runtime/target/ldcache.c
$(OUT)/fuzz/verdict_fuzz: FUZZ_LIB = runtime/target/verdict_format.c runtime/cache_file.c
$(OUT)/fuzz/disasm_fuzz: FUZZ_LIB = $(addprefix runtime/target/,callgraph.c accessors.c capstone_lib.c elf_file.c names.c) \
	runtime/dl_symbols.c runtime/log.c $(wildcard common/*.c) $(FUZZ_GEN_LIB)
$(OUT)/fuzz/assemble_fuzz: FUZZ_LIB = runtime/events/assemble.c $(FUZZ_GEN_LIB)
$(OUT)/fuzz/writers_fuzz: FUZZ_LIB = $(filter-out %/outfile.c %/pcapng_output.c,$(wildcard runtime/output/*.c)) \
	runtime/events/fields.c runtime/log.c runtime/meminfo.c runtime/caps.c $(wildcard runtime/http/*.c) $(FUZZ_GEN_LIB)

# FUZZ_LIB, each target's own, is read when the prerequisites are expanded a second time.
.SECONDEXPANSION:
$(OUT)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_feed.h $$(FUZZ_LIB) tests/unit/rfc8448_vectors.h $(OUT)/gen/gen.mk
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) -std=gnu11 $(WARNINGS) -D_GNU_SOURCE $(FUZZ_FLAGS) $(FUZZ_CFLAGS) $(RUNTIME_INC) -Icommon -Ibpf-gen \
		-I$(OUT)/gen -Itests/unit -o $@ $< $(FUZZ_LIB) -lbpf -lelf -ldl -lnghttp2 -lbrotlidec -lz

fuzz: $(FUZZ_BINS)
	$(Q)for bin in $(FUZZ_BINS); do \
		name=$$(basename $$bin) && mkdir -p $(OUT)/fuzz/corpus-$$name && \
		echo "  FUZZ  $$name for $(FUZZ_TIME) s" && \
		$$bin -max_total_time=$(FUZZ_TIME) -print_final_stats=1 -artifact_prefix=$(OUT)/fuzz/ \
			$(OUT)/fuzz/corpus-$$name $$(ls -d tests/fuzz/seeds/$$name 2>/dev/null) || exit 1; \
	done

unit: $(OUT)/probec $(ASAN_OUT)/probec $(OUT)/offsets $(OUT)/vmlinux.h $(UNIT_BINS) $(ASAN_UNIT_BINS) $(OUT)/plainsight $(ASAN_OUT)/plainsight $(CALLGRAPH_FIXTURES) $(FUZZ_BINS)
	$(Q)OUT=$(OUT) tests/run-unit.sh $(UNIT_BINS) $(ASAN_UNIT_BINS)

# T=SUBSTRING: only the end-to-end tests whose names contain it (tests/README.md).
E2E_SELECT = $(if $(T),-k '$(T)')

e2e: $(OUT)/plainsight $(ASAN_OUT)/plainsight
	$(Q)OUT=$(OUT) python3 tests/e2e/run.py $(E2E_SELECT)

test: check-deps
	$(Q)$(MAKE) --no-print-directory all asan
ifeq ($(T),)
	$(Q)OUT=$(OUT) tests/run-all.sh
else
	$(Q)OUT=$(OUT) python3 tests/e2e/run.py -v $(E2E_SELECT)
endif

# ---- benchmarks (bench/README.md) ---------------------------------------------
# The floor: empty entry and return programs of our own on the same functions.
BENCH_TOOLS := $(OUT)/bench/uprobe_floor $(OUT)/bench/uprobe_floor.bpf.o

$(OUT)/bench/uprobe_floor.bpf.o: bench/uprobe_floor.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(BPF_CFLAGS) -c -o $@ $<

$(OUT)/bench/uprobe_floor: bench/uprobe_floor.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) -std=gnu11 $(CFLAGS) $(WARNINGS) -o $@ $< -lbpf

bench-tools: $(BENCH_TOOLS)

bench: check-deps
	$(Q)$(MAKE) --no-print-directory all bench-tools
	$(Q)OUT=$(OUT) bash bench/run.sh

# ---- use ----------------------------------------------------------------------
run:
	$(Q)$(MAKE) --no-print-directory DEPS_FOR=build check-deps
	$(Q)$(MAKE) --no-print-directory all
	$(OUT)/plainsight tls

install: $(OUT)/plainsight
	install -D -m 0755 $(OUT)/plainsight $(DESTDIR)$(PREFIX)/bin/plainsight

clean:
	rm -rf $(OUT)

-include $(shell find $(OUT) -name '*.d' 2>/dev/null)
