/* SPDX-License-Identifier: MIT */
/*
 * The tables probec generates from specs/ and the runtime interprets. Nothing
 * here knows about one library or one version: every fact lives in a spec.
 * compiler/emit_tables.c writes instances of these structs; keep both in step.
 */
#ifndef PS_MODULE_H
#define PS_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ps_flag_type {
	PS_FLAG_BOOL,
	PS_FLAG_INT,
	PS_FLAG_STRING,
	PS_FLAG_PATH,
};

/* A module's own command-line flag, from `flag` in a spec. */
struct ps_flag_desc {
	const char *name;          /* long name, used as --name */
	char short_name;           /* 0 when it has none */
	enum ps_flag_type type;
	const char *default_value; /* NULL when unset by default */
	const char *help;
};

/* How to read a library's version out of an ELF file. */
#include "version_rule.h"   /* PS_VERSION_FILE_NAME */

struct ps_version_rule {
	const char *section;       /* e.g. ".rodata"; PS_VERSION_FILE_NAME: the file's name, symlinks followed */
	const char *regex;         /* POSIX extended; group 1 is the version */
	const char *product;       /* what a match of this regex is (`match ... product P`); NULL: unnamed */
	const char *needed_prefix; /* also search DT_NEEDED libraries starting so; NULL: only the target */
	int force_flag;            /* index into flags: its value is matched with regex instead; -1: none */
};

/* The binary a module attaches to. */
struct ps_target_desc {
	const char *name;
	const char *library;       /* soname looked up in the ld.so cache, or an absolute path */
	int override_flag;         /* index into flags of a PATH flag that replaces library; -1: none */
	/*
	 * `kind go`: a Go program. Its functions are found in .gopclntab (which
	 * strip keeps), the path may come from -p PID, and a version below every
	 * layout is refused: the hooks' calling convention depends on it.
	 */
	bool go;
	struct ps_version_rule version;
	const int32_t *more_overrides; /* `override a, b, c;`: b and c, tried in order when a is not given */
	uint32_t n_more_overrides;
	const struct ps_version_rule *more_versions; /* the second and later `match`es, tried after version */
	uint32_t n_more_versions;
};

/* One named offset: `field` of `strct`. Its index is the offset id. */
struct ps_offset_desc {
	const char *strct;
	const char *field;
	/*
	 * `accessor SYM [load N]`: the exported function SYM(strct *) reads this
	 * field, and its N-th memory access through its first argument shows the
	 * offset (runtime/target/accessors.c). NULL: no accessor.
	 */
	const char *accessor;
	uint32_t accessor_load;    /* 1-based */
	/*
	 * `through S.F`: SYM takes an S * and reaches this field through the
	 * pointer field F (offset id `through`): the accesses counted are those
	 * through the register loaded from F.
	 */
	bool has_through;
	uint32_t through;
	bool pointer;              /* a `ptr` field: its accessor must load 8 bytes to correct it */
	/*
	 * `accessor SYM copy`: SYM copies this byte array (copy_length bytes)
	 * whole, 16 at a time, to the start of a buffer; the source's
	 * displacement is the offset. 0: not that shape.
	 */
	uint32_t copy_length;
	/*
	 * `struct S abi`: a public ABI, placed alike in every version: an
	 * accessor contradicting another struct leaves this one known.
	 */
	bool abi;
};

/*
 * Versions [min_version, max_version] of product (NULL: any) share one set of
 * offsets. An open range (`versions "3.0.0" ..`) has no max_version and ends
 * below below_version, the next layout's first version (NULL: never).
 */
struct ps_layout_desc {
	const char *name;
	const char *product;
	const char *min_version;
	const char *max_version;
	const char *below_version;
	const char *source;        /* where the numbers came from */
	const int32_t *offsets;    /* n_offsets entries; -1: the field does not exist here */
	uint32_t hookset;          /* index into hooksets */
	bool go_stack_abi;         /* `abi stack;`: its `abi go` hooks read Go's stack ABI (ABI0), before Go 1.17 */
};

enum ps_hook_abi {
	PS_ABI_SYSV,               /* C on x86-64: arguments in rdi, rsi, rdx, rcx, r8, r9 */
	PS_ABI_GO,                 /* Go's: register ABI (ABIInternal), or its stack ABI where the layout says */
};

struct ps_hook_desc {
	const char *symbol;
	uint32_t target;           /* index into targets */
	const char *entry_prog;    /* BPF program name, or NULL */
	const char *return_prog;   /* BPF program name, or NULL */
	bool optional;             /* a missing symbol is a note, not an error */
	enum ps_hook_abi abi;
	uint32_t emits;            /* a bit per event id (the first 32) its programs can emit */
	const char *unless;        /* attach only when this symbol is absent from the target; NULL: always */
	/*
	 * `called by F, G`: where the target has no symbol for it, the function
	 * is the one direct callee F and G share (runtime/target/callgraph.c); a target
	 * without F or G has no such function.
	 */
	const char *const *called_by;
	uint32_t n_called_by;
	/*
	 * `called with "S", "T"`: where the target has no symbol for it, the
	 * function is the one each of these string literals is passed to: the
	 * direct call right after code takes the string's address (callgraph.c).
	 */
	const char *const *called_with;
	uint32_t n_called_with;
	/*
	 * `when wire`: attached only with --from wire, where the secrets are all
	 * the probes give (a secret's hook that call mode has no need for).
	 */
	bool wire_only;
	/*
	 * `slot S.F of T`: where the target has no symbol for it, the function
	 * is the one whose address the table the exported function T returns
	 * holds at offset S.F (offset id `slot`, from the layout); slot_of NULL:
	 * none.
	 */
	const char *slot_of;
	int32_t slot;
	/* `unless calls H`: not attached where its code reaches (calls) an attached hook on H. */
	const char *const *unless_calls;
	uint32_t n_unless_calls;
	int32_t symbol_flag;       /* a STRING flag whose value replaces symbol; -1: none */
	int32_t offset_flag;       /* an INT flag whose value is the file offset to attach at; -1: none */
};

/* One BPF object: the hooks a group of versions shares. */
struct ps_hookset_desc {
	const char *name;
	const unsigned char *bpf_obj;   /* the compiled object, embedded */
	const unsigned char *bpf_obj_end;
	const struct ps_hook_desc *hooks;
	uint32_t n_hooks;
	bool track_socket;         /* has the ps_sys_enter program */
};

enum ps_field_kind {
	PS_FIELD_INT,              /* signed integer of size 1, 2, 4 or 8 */
	PS_FIELD_UINT,
	PS_FIELD_ENUM,             /* unsigned integer naming one of enum_names */
	PS_FIELD_TUPLE,            /* struct ps_tuple */
	PS_FIELD_BYTES,            /* the variable part: raw bytes */
	PS_FIELD_STRING,           /* the variable part: text */
	PS_FIELD_FIXED_BYTES,      /* `u8[N]`: size bytes in the fixed part, printed in hex */
};

struct ps_field_desc {
	const char *name;
	enum ps_field_kind kind;
	uint32_t offset;           /* in the event record; the variable part: fixed_size */
	uint32_t size;             /* 0 for the variable part */
	int32_t present_bit;       /* bit in header.present; -1: always present */
	const char *const *enum_names;
	uint32_t n_enum;
	bool hidden;               /* used by the runtime, not printed */
	bool text;                 /* bytes or string holding text: a JSON string, not base64 */
	int32_t check_field;       /* must equal this field when both are present; -1: none */
	bool collect;              /* filled in user space from the buffered records of collect_event */
	uint32_t collect_event;
	const char *joined;        /* collect: separator between the collected values; NULL: none */
	bool unescape;             /* string: each unescape_byte + next becomes next ^ unescape_xor */
	const uint32_t *reads;     /* offset ids its value is read through (every hook emitting it) */
	uint32_t n_reads;
	uint8_t unescape_byte, unescape_xor;
};

enum ps_buffer_kind {
	PS_BUFFER_NONE,            /* records are output */
	PS_BUFFER_PID,             /* records wait, per process, for an event that collects them */
	PS_BUFFER_TID,             /* the same, per thread */
};

struct ps_event_desc {
	const char *name;
	uint32_t fixed_size;       /* sizeof the generated struct */
	const struct ps_field_desc *fields;
	uint32_t n_fields;
	int32_t var_field;         /* index of the bytes/string field, or -1 */
	enum ps_buffer_kind buffer;
};

/* A C global the BPF programs read (`global` in a spec); its address goes into ps_link. */
struct ps_global_desc {
	const char *name;
	uint32_t target;           /* index into targets */
	bool optional;             /* absent: its value is absent, not an error */
};

enum ps_filter_op { PS_FILTER_EQ, PS_FILTER_NE, PS_FILTER_LT, PS_FILTER_LE, PS_FILTER_GT, PS_FILTER_GE };

/*
 * `filter FIELD OP VALUE;`: records of events with FIELD are output only when
 * it holds. With a flag as VALUE, the filter is off until the flag is given.
 */
struct ps_filter_desc {
	const char *field;
	enum ps_filter_op op;
	bool text;                 /* compares a string field with text_value or the flag's text */
	int32_t flag;              /* index into flags; -1: the literal below */
	int64_t value;
	const char *text_value;
};

struct ps_module_desc {
	const char *name;          /* the CLI command: plainsight NAME */
	const char *help;
	const char *alias;         /* plainsight ALIAS runs it too; NULL: none */
	const char *spec_path;     /* spec it was compiled from, for messages */
	const struct ps_flag_desc *flags;
	uint32_t n_flags;
	const struct ps_target_desc *targets;
	uint32_t n_targets;
	const struct ps_offset_desc *offsets;
	uint32_t n_offsets;
	const struct ps_layout_desc *layouts;
	uint32_t n_layouts;
	const struct ps_hookset_desc *hooksets;
	uint32_t n_hooksets;
	const struct ps_event_desc *events;
	uint32_t n_events;
	const struct ps_global_desc *globals;
	uint32_t n_globals;
	const struct ps_filter_desc *filters;
	uint32_t n_filters;
};

/* From the generated modules.gen.c: every module found in specs/. */
extern const struct ps_module_desc *const ps_modules[];
extern const uint32_t ps_n_modules;

#endif /* PS_MODULE_H */
