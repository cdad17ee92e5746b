/* SPDX-License-Identifier: MIT */
/*
 * The tree the parser builds and the checker annotates. Every node carries
 * its place in the spec so that any pass can point at it. Nodes live in the
 * run's arena (util.h): nothing is freed one by one.
 *
 * Fields marked "check:" are filled by check.c and read by the emitters.
 */
#ifndef PROBEC_AST_H
#define PROBEC_AST_H

#include <stdbool.h>
#include <stdint.h>

/* One spec file, kept whole so diagnostics can quote its lines. */
struct source {
	const char *path;
	const char *text;
	int index;                 /* order on the command line, for sorting diagnostics */
};

/* Also the parser's YYLTYPE: lines and columns are 1-based, end_col inclusive. */
struct loc {
	const struct source *src;
	int line, col;
	int end_line, end_col;
};

enum scalar {
	SC_NONE,
	SC_I8, SC_I16, SC_I32, SC_I64,
	SC_U8, SC_U16, SC_U32, SC_U64,
	SC_PTR,
};

/* `i32`, `ptr`, `ptr u64`, `ptr ssl_st`, `u8[32]`. */
struct ast_type {
	enum scalar kind;          /* an array: its element type */
	unsigned array_len;        /* `u8[N]`: N; 0 for no array */
	struct ast_type *pointee;  /* ptr T with T a scalar type */
	const char *struct_name;   /* ptr S */
	struct loc struct_loc;
	struct loc loc;
	struct ast_struct *strct;  /* check: the struct S names */
};

enum flag_type { FT_BOOL, FT_INT, FT_STRING, FT_PATH };

struct ast_flag {
	const char *name;
	struct loc loc;
	const char *short_name;    /* NULL when none */
	struct loc short_loc;
	enum flag_type type;
	const char *default_value; /* literal as text; NULL when none */
	const char *help;
	struct ast_flag *next;
};

/* A flag named by `override` or `force`. */
struct flag_ref {
	const char *name;
	struct loc loc;
	int index;                 /* check: into the module's flags; -1 none */
	struct flag_ref *next;     /* `override a, b;`: the flags after the first */
};

/* `match "REGEX" [product NAME];`: one banner, and which product it names. */
struct ast_match {
	const char *regex;
	struct loc loc;            /* the regex string */
	const char *product;       /* NULL: the banner names no product */
	struct loc product_loc;
	bool file_name;            /* `match file`: matched against the file's name, not its strings */
	struct ast_match *next;
};

struct ast_version {
	struct loc loc;
	const char *section, *needed;
	struct ast_match *matches; /* tried in order; the first that matches gives version and product */
	struct flag_ref force;
};

struct ast_target {
	const char *name;
	struct loc loc;
	const char *library;
	const char *kind;          /* `kind go;`: a Go program (functions from .gopclntab); NULL: a C library or program */
	struct loc kind_loc;
	bool go;                   /* check: kind go */
	struct flag_ref override;  /* the first of `override a, b, ...;` */
	struct ast_version *version;
	struct ast_target *next;
};

struct ast_struct_field {
	const char *name;          /* a dotted path through inline structs: "s3.client_random" */
	struct loc loc;
	struct ast_type *type;
	int offset_id;             /* check: index into the module's offsets */
	/* `accessor SYM [load N]`: SYM(S *) reads this field; its N-th access through the argument */
	const char *accessor;      /* NULL: none */
	struct loc accessor_loc;
	int accessor_load;         /* 1-based */
	struct loc accessor_load_loc;
	/* `through S.F`: SYM takes an S * and reaches this field through its pointer field F */
	const char *accessor_through;  /* "S.F", or NULL */
	struct loc accessor_through_loc;
	struct ast_struct_field *through_field;  /* check: F of S */
	/* `accessor SYM copy`: SYM copies this whole byte array, 16 bytes at a time, to the start of a buffer */
	bool accessor_copy;
	struct loc accessor_copy_loc;
	struct ast_struct_field *next;
};

struct ast_struct {
	const char *name;
	struct loc loc;
	struct ast_struct_field *fields;
	bool abi;                  /* `struct S abi`: a public ABI, placed alike in every version */
	struct ast_struct *next;
};

/*
 * `ssl_st.wbio = 24;`, `= absent;`, `struct ssl_st absent;` (every field of
 * it), or `const error_level = 21;` (strct: the constant's name)
 */
struct ast_offset {
	const char *strct, *field; /* field: NULL for a whole struct or a constant */
	struct loc loc;            /* the whole `ssl_st.wbio`; the struct's name */
	long long value;           /* -1: absent */
	bool absent;
	bool whole_struct;
	bool constant;
	struct loc value_loc;
	struct ast_offset *next;
};

/*
 * A layout constant: a number that differs between versions, given by every
 * layout. It travels like an offset, in the slots after them (id).
 */
struct ast_const {
	const char *name;
	struct loc loc;            /* where the first layout gives it */
	int id;                    /* slot in the layouts' values: after the offsets */
	struct ast_const *next;
};

struct ast_layout {
	const char *name;
	struct loc loc;
	const char *product;       /* `product NAME`: NULL, any product */
	struct loc product_loc;
	const char *min_version, *max_version;  /* max_version NULL: `versions "A" ..`, open above */
	struct loc min_loc, max_loc;
	const char *below_version; /* check: an open range ends below this version (the next layout's first); NULL: never */
	const char *hookset_name;  /* NULL: the default hook set */
	struct loc hookset_loc;
	const char *source;
	const char *abi_name;      /* `abi stack;`: Go's stack ABI for `abi go` hooks; NULL: the register ABI */
	struct loc abi_loc;
	bool go_stack_abi;         /* check: abi_name is "stack" */
	struct ast_offset *offsets;
	int32_t *values;           /* check: one per offset id, then one per constant; -1 absent */
	int hookset;               /* check: index into the module's hook sets */
	struct ast_layout *next;
};

enum field_kind { FK_INT, FK_ENUM, FK_TUPLE, FK_BYTES, FK_STRING, FK_ARRAY };

struct ast_name {
	const char *name;
	struct loc loc;
	struct ast_name *next;
};

struct ast_field {
	const char *name;
	struct loc loc;
	enum field_kind kind;
	enum scalar scalar;        /* FK_INT; FK_ARRAY: the element type */
	unsigned array_len;        /* FK_ARRAY: `u8[N]`, a fixed bytes field */
	struct loc type_loc;
	struct ast_name *members;  /* FK_ENUM */
	bool optional, hidden;
	/* `text`: a string or bytes field that holds text (SQL, a command line), a JSON string */
	bool text;
	struct loc text_loc;
	/* `collect EVENT.FIELD [joined "SEP"]`: filled in user space */
	const char *collect_event, *collect_field, *joined;
	struct loc collect_loc;
	struct ast_event *collect_ev;  /* check */
	/* `unescape BYTE xor MASK` */
	bool unescape;
	long long unescape_byte, unescape_xor;
	struct loc unescape_loc;
	const char *check_name;
	struct loc check_loc;
	int check_index;           /* check: -1 none */
	int present_bit;           /* check: -1 when not optional */
	int index;                 /* check: position in the event */
	unsigned offset, size, align;  /* check: C layout in the event struct */
	struct ast_field *next;
};

enum buffer_kind { BUF_NONE, BUF_PID, BUF_TID };

struct ast_event {
	const char *name;
	struct loc loc;
	const char *buffer_by;     /* `buffered by pid|tid`, or NULL */
	struct loc buffer_loc;
	enum buffer_kind buffer;   /* check */
	struct ast_field *fields;
	int id;                    /* check */
	int n_fields;              /* check */
	struct ast_field *var_field;   /* check: the bytes/string field or NULL */
	unsigned fixed_size;       /* check: sizeof the generated struct */
	struct ast_event *next;
};

enum expr_kind { EX_INT, EX_IDENT, EX_CALL, EX_UNARY, EX_BINARY, EX_ARROW, EX_INDEX, EX_COND, EX_ABSENT, EX_CAST };

enum op {
	OP_NOT, OP_NEG, OP_DEREF,
	OP_COALESCE, OP_OR, OP_AND, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_BITOR, OP_BITAND, OP_ADD, OP_SUB, OP_MUL,
};

/* What a value is, as check.c works it out. */
enum value_kind { VK_ERROR, VK_INT, VK_PTR, VK_TUPLE, VK_SLICE, VK_CSTR, VK_MEMBER, VK_ARRAY };

struct value_type {
	enum value_kind kind;
	enum scalar scalar;        /* VK_INT: its C type (computing is 64-bit); VK_PTR: SC_PTR */
	const struct ast_type *ptr; /* VK_PTR: what it points to, when known */
	unsigned array_len;        /* VK_ARRAY: bytes of a `u8[N]` struct field */
	bool optional;             /* may be absent */
};

enum ref_kind { REF_NONE, REF_PARAM, REF_LET, REF_RET, REF_SOCKET_FD, REF_MEMBER, REF_GLOBAL, REF_VAR, REF_CONST };

struct ast_expr {
	enum expr_kind kind;
	struct loc loc;
	long long int_value;       /* EX_INT */
	bool int_unsigned;         /* EX_INT beyond INT64_MAX */
	const char *name;          /* EX_IDENT, EX_CALL, EX_ARROW (the field) */
	struct loc name_loc;
	enum op op;
	struct ast_expr *a, *b;    /* operands; EX_CALL: a is the first argument; EX_COND: a ? b : c */
	struct ast_expr *c;        /* EX_COND: the value when a is false or absent */
	struct ast_expr *next;     /* EX_CALL arguments */
	struct ast_type *cast;     /* EX_CAST: `(ptr S) a` */
	/* check: */
	struct value_type type;
	enum ref_kind ref;
	struct ast_param *param;
	struct ast_stmt *let;
	struct ast_struct_field *field;  /* EX_ARROW */
	struct ast_global *global; /* REF_GLOBAL */
	struct ast_var *var;       /* REF_VAR */
	struct ast_const *konst;   /* REF_CONST */
	int member;                /* REF_MEMBER: index in its enum */
	const struct ast_stmt *done_by; /* check: the `do` whose steps' statements this was copied from */
};

struct ast_assign {
	const char *name;
	struct loc loc;
	struct ast_expr *value;
	struct ast_field *field;   /* check */
	struct ast_assign *next;
};

enum stmt_kind { ST_LET, ST_EMIT, ST_SET, ST_CLEAR, ST_IF, ST_DO };

struct ast_stmt {
	enum stmt_kind kind;
	struct loc loc;
	const char *name;          /* let name, event name, var name, or ST_DO: the steps' name */
	struct loc name_loc;
	struct ast_expr *value;    /* ST_LET, ST_SET; ST_IF: the condition; ST_DO: the arguments */
	struct ast_stmt *body;     /* ST_IF: what runs when it holds */
	struct ast_var *var;       /* check: ST_SET, ST_CLEAR */
	struct ast_assign *assigns; /* ST_EMIT */
	struct ast_event *event;   /* check: ST_EMIT */
	struct value_type let_type; /* check: ST_LET */
	bool saved;                /* check: a let of `on entry` that `on return` reads */
	bool saved_optional;       /* check: may be absent when read at return */
	const struct ast_stmt *done_by; /* check: the `do` this statement was copied in for */
	const struct ast_stmt *expanded_by; /* check: the same, at any depth (inside an `if` too) */
	struct ast_stmt *next;
};

/*
 * `steps NAME(a, b) { stmts }`: statements several hooks share. `do NAME(x,
 * y);` in a hook stands for a copy of them with each parameter replaced by
 * its argument, made and checked where it stands (check). The statements
 * read only their parameters, their own lets and module-wide names.
 */
struct ast_steps {
	const char *name;
	struct loc loc;
	struct ast_name *params;
	struct ast_stmt *stmts;
	bool expanding;            /* check: being copied in, to catch steps that use themselves */
	bool used;                 /* check: some hook does them */
	struct ast_steps *next;
};

struct ast_block {
	struct loc loc;
	bool at_return;
	struct ast_expr *when;
	struct ast_stmt *stmts;
};

struct ast_param {
	const char *name;
	struct loc loc;
	struct ast_type *type;
	int index;                 /* check: argument position */
	bool used_at_entry;        /* check */
	bool saved;                /* check: read at return */
	struct ast_param *next;
};

enum abi { ABI_SYSV, ABI_GO };

struct ast_hook {
	const char *symbol;
	struct loc loc;            /* the symbol */
	bool optional;
	const char *target_name;
	struct loc target_loc;
	const char *abi_name;
	struct loc abi_loc;
	const char *unless;        /* `unless SYMBOL`: attach only when SYMBOL is absent */
	struct loc unless_loc;
	struct ast_name *called_by;   /* `called by F, G`: the one function F and G both call directly */
	struct ast_name *called_with; /* `called with "S", "T"`: the one function these string literals are passed to */
	struct ast_name *unless_calls; /* `unless calls H`: not where its code reaches an attached hook H */
	bool wire_only;            /* `when wire`: attached only with --from wire */
	/* `slot S.F of T`: the function whose address the table exported function T returns holds at S.F */
	const char *slot;          /* "S.F", or NULL */
	struct loc slot_loc;
	const char *slot_of;       /* T */
	struct loc slot_of_loc;
	struct ast_struct_field *slot_field;  /* check: F of S */
	struct flag_ref symbol_flag;  /* `symbol FLAG`: a string flag replacing the symbol */
	struct flag_ref offset_flag;  /* `offset FLAG`: an int flag giving the file offset */
	struct ast_param *params;
	struct ast_type *ret_type; /* NULL: none declared */
	struct ast_expr *track;    /* `track socket by EXPR`, or NULL */
	struct loc track_loc;
	struct ast_block *entry, *ret;
	/* check: */
	enum abi abi;
	int target;
	int id;                    /* index in its hook set */
	const char *c_name;        /* symbol made a C identifier, unique in the hook set */
	bool has_entry_prog, has_return_prog;
	bool saves;                /* has a saved struct */
	bool save_track_key;       /* the key is no bare parameter: saved as track_key */
	bool reads_globals;        /* check: its entry block reads a global */
	struct ast_hook *next;
};

struct ast_hookset {
	const char *name;
	struct loc loc;
	struct ast_hook *hooks;
	bool track_socket;         /* check */
	bool is_default;
	struct ast_hookset *next;
};

/* `global NAME: TYPE [optional] [in TARGET];` */
struct ast_global {
	const char *name;
	struct loc loc;
	struct ast_type *type;
	bool optional;
	const char *target_name;
	struct loc target_loc;
	int target;                /* check */
	int index;                 /* check */
	struct ast_global *next;
};

/* `var NAME: TYPE per thread|process;` */
struct ast_var {
	const char *name;
	struct loc loc;
	enum scalar type;
	const char *per;
	struct loc per_loc;
	bool per_process;          /* check */
	int index;                 /* check */
	struct ast_var *next;
};

enum filter_value { FV_INT, FV_STRING, FV_FLAG };

/* `filter FIELD OP VALUE;` */
struct ast_filter {
	const char *field;
	struct loc loc;
	enum op op;
	struct loc op_loc;
	enum filter_value kind;
	long long int_value;
	const char *str_value;     /* FV_STRING; FV_FLAG: the flag's name */
	struct loc value_loc;
	int flag;                  /* check: FV_FLAG */
	bool string_field;         /* check: compares text */
	struct ast_filter *next;
};

struct ast_module {
	const char *name;
	struct loc loc;
	const struct source *src;
	const char *help;
	struct ast_flag *flags;
	struct ast_target *targets;
	struct ast_struct *structs;
	struct ast_layout *layouts;
	struct ast_event *events;
	struct ast_hookset *hooksets;  /* named ones as parsed; check puts `default` first */
	struct ast_hook *hooks;        /* outside any hookset */
	struct ast_global *globals;
	struct ast_var *vars;
	struct ast_filter *filters;
	struct ast_steps *steps;
	const char *alias;             /* `alias "NAME";`: plainsight NAME runs this module too */
	struct loc alias_loc;
	const char *layouts_dir;       /* `layouts "DIR";`: more layouts, one per DIR/NAME.spec */
	struct loc layouts_dir_loc;
	/* check: */
	struct ast_struct_field **offsets;  /* by offset id */
	int n_offsets;
	struct ast_const *consts;      /* the layouts' constants, ids from n_offsets on */
	int n_consts;
	int n_events, n_hooksets, n_flags, n_targets, n_layouts;
	int n_globals, n_vars, n_filters;
	struct ast_module *next;
};

#endif
