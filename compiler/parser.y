/* SPDX-License-Identifier: MIT */
/*
 * The spec grammar of specs/README.md. A pure parser over a reentrant scanner:
 * all state is in struct parse_ctx. Error productions at item, statement and
 * block level let one run report several mistakes.
 *
 * Semantic values are arena nodes (util.h), so a value error recovery throws
 * away needs no freeing; the %destructor below only drops its pointer, which
 * documents that this is deliberate.
 */
%define api.pure full
%define api.location.type {struct loc}
%define parse.error detailed
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {struct parse_ctx *ctx}

%code requires {
#include "parse.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif
}

%code {
#include <string.h>

#include "lexer.h"

/* A rule's place runs from its first symbol's start to its last one's end. */
#define YYLLOC_DEFAULT(cur, rhs, n)                                    \
	do {                                                           \
		if (n) {                                               \
			(cur) = YYRHSLOC(rhs, 1);                      \
			(cur).end_line = YYRHSLOC(rhs, n).end_line;    \
			(cur).end_col = YYRHSLOC(rhs, n).end_col;      \
		} else {                                               \
			(cur) = YYRHSLOC(rhs, 0);                      \
			(cur).line = (cur).end_line;                   \
			(cur).col = (cur).end_col;                     \
		}                                                      \
	} while (0)

/* Appends item to a singly linked list threaded through ->next. */
#define APPEND(head, item)                                             \
	do {                                                           \
		__typeof__(item) *tail_ = &(head);                     \
		while (*tail_)                                         \
			tail_ = &(*tail_)->next;                       \
		*tail_ = (item);                                       \
	} while (0)

#define NEW(type) ARENA_NEW(ctx->arena, type)

static void yyerror(YYLTYPE *loc, yyscan_t scanner, struct parse_ctx *ctx, const char *msg);
static void set_once_str(struct parse_ctx *ctx, const char **slot, const char *value, YYLTYPE loc,
			 const char *what);
static struct ast_expr *new_expr(struct parse_ctx *ctx, enum expr_kind kind, YYLTYPE loc);
static struct ast_expr *new_binary(struct parse_ctx *ctx, enum op op, struct ast_expr *a, struct ast_expr *b,
				   YYLTYPE loc);
static struct ast_expr *new_unary(struct parse_ctx *ctx, enum op op, struct ast_expr *a, YYLTYPE loc);
}

%union {
	char *str;
	unsigned long long u64;
	long long i64;
	enum scalar scalar;
	enum flag_type flag_type;
	struct ast_module *module;
	struct ast_flag *flag;
	struct ast_target *target;
	struct ast_version *version;
	struct ast_struct *strct;
	struct ast_struct_field *sfield;
	struct ast_type *type;
	struct ast_layout *layout;
	struct ast_offset *offset;
	struct ast_event *event;
	struct ast_field *field;
	struct ast_name *names;
	struct ast_hookset *hookset;
	struct ast_hook *hook;
	struct ast_param *param;
	struct ast_block *block;
	struct ast_stmt *stmt;
	struct ast_assign *assign;
	struct ast_expr *expr;
	struct ast_global *global;
	struct ast_var *var;
	struct ast_steps *steps;
	struct ast_filter *filter;
	struct flag_ref *flag_refs;
	enum op op;
	struct { const char *name; struct loc loc; } opt_name; /* an optional `KEYWORD name` */
}

%token <str> IDENT "identifier"
%token <str> STRING "string literal"
%token <u64> INT "integer"
%token <scalar> SCALAR "integer type"
%token MODULE "module" HELP "help" FLAG "flag" BOOL "bool" INT_KW "int" STRING_KW "string"
%token PATH "path" TRUE "true" FALSE "false" TARGET "target" LIBRARY "library"
%token OVERRIDE "override" VERSION "version" SECTION "section" MATCH "match" NEEDED "needed"
%token FORCE "force" STRUCT "struct" PTR "ptr" LAYOUT "layout" VERSIONS "versions" HOOKS "hooks"
%token SOURCE "source" ABSENT "absent" EVENT "event" OPTIONAL "optional" HIDDEN "hidden" TEXT_KW "text"
%token CHECK "check" ENUM "enum" TUPLE "tuple" BYTES "bytes" HOOKSET "hookset" HOOK "hook"
%token IN "in" ABI "abi" TRACK "track" SOCKET "socket" BY "by" ON "on" ENTRY "entry"
%token RETURN "return" WHEN "when" LET "let" EMIT "emit" IF "if"
%token GLOBAL "global" VAR "var" PER "per" SET "set" CLEAR "clear" BUFFERED "buffered" COLLECT "collect"
%token JOINED "joined" UNESCAPE "unescape" XOR "xor" FILTER "filter" UNLESS "unless" SYMBOL "symbol" OFFSET "offset"
%token ACCESSOR "accessor" LOAD "load" CALLED "called" CALLS "calls" WITH "with" THROUGH "through" COPY "copy" PRODUCT "product" STEPS "steps" DO "do"
%token CONST "const" LAYOUTS "layouts" KIND "kind" ALIAS "alias" SLOT "slot" OF "of" FILE_KW "file"
%token LAYOUTS_FILE "start of a layouts file"
%token DOTDOT ".." ARROW "->" COALESCE "??" OROR "||" ANDAND "&&" EQ "==" NE "!=" LE "<=" GE ">="

%type <str> name path literal hook_symbol flag_short flag_default flag_help opt_max_version
%type <i64> offset_number
%type <flag_type> flag_type
%type <module> module module_body
%type <flag> flag
%type <target> target target_body
%type <version> version version_body
%type <strct> struct
%type <sfield> struct_fields accessor
%type <i64> accessor_load
%type <str> accessor_through
%type <type> type
%type <layout> layout layout_body
%type <opt_name> opt_product layout_hooks
%type <event> event
%type <field> event_fields field field_mods
%type <names> enum_members symbol_list string_list steps_params
%type <hookset> hookset
%type <hook> hook hooks hook_opts hook_body
%type <param> params params_opt param
%type <type> ret_type
%type <expr> when_opt expr postfix primary args args_opt
%type <stmt> stmts stmt
%type <assign> assigns
%type <global> global
%type <var> var
%type <steps> steps
%type <filter> filter
%type <flag_refs> flag_refs
%type <op> filter_op
%type <str> event_buffer

%destructor { (void)$$; /* arena-owned */ } <*>

%right '?' ':'
%left "??"
%left "||"
%left "&&"
%left "==" "!="
%left '<' "<=" '>' ">="
%left '|'
%left '&'
%left '+' '-'
%left '*'
%precedence UNARY

%start input

%%

/* The scanner starts a layouts file (a module's `layouts "DIR";`) with LAYOUTS_FILE. */
input:
	  spec
	| LAYOUTS_FILE layouts_file
	;

layouts_file:
	  %empty
	| layouts_file layout   { APPEND(ctx->layouts, $2); }
	| layouts_file error '}'
	;

spec:
	  %empty
	| spec module           { APPEND(ctx->modules, $2); }
	| spec error '}'
	;

module:
	  "module" name '{' module_body '}'
		{ $$ = $4; $$->name = $2; $$->loc = @2; $$->src = ctx->src; }
	;

module_body:
	  %empty                        { $$ = NEW(struct ast_module); }
	| module_body "help" STRING ';' { $$ = $1; set_once_str(ctx, &$$->help, $3, @2, "help"); }
	| module_body "alias" STRING ';'
		{
			$$ = $1;
			set_once_str(ctx, &$$->alias, $3, @2, "alias");
			$$->alias_loc = @3;
		}
	| module_body flag              { $$ = $1; APPEND($$->flags, $2); }
	| module_body target            { $$ = $1; APPEND($$->targets, $2); }
	| module_body struct            { $$ = $1; APPEND($$->structs, $2); }
	| module_body layout            { $$ = $1; APPEND($$->layouts, $2); }
	| module_body event             { $$ = $1; APPEND($$->events, $2); }
	| module_body hookset           { $$ = $1; APPEND($$->hooksets, $2); }
	| module_body hook              { $$ = $1; APPEND($$->hooks, $2); }
	| module_body global            { $$ = $1; APPEND($$->globals, $2); }
	| module_body var               { $$ = $1; APPEND($$->vars, $2); }
	| module_body filter            { $$ = $1; APPEND($$->filters, $2); }
	| module_body steps             { $$ = $1; APPEND($$->steps, $2); }
	| module_body "layouts" STRING ';'
		{
			$$ = $1;
			set_once_str(ctx, &$$->layouts_dir, $3, @2, "layouts");
			$$->layouts_dir_loc = @3;
		}
	| module_body error ';'         { $$ = $1; }
	| module_body error '}'         { $$ = $1; }
	;

/* Names: identifiers, and the keywords that read naturally as field names. */
name:
	  IDENT
	| "source"   { $$ = "source"; }
	| "version"  { $$ = "version"; }
	| "check"    { $$ = "check"; }
	| "path"     { $$ = "path"; }
	| "string"   { $$ = "string"; }
	| "bytes"    { $$ = "bytes"; }
	| "tuple"    { $$ = "tuple"; }
	| "entry"    { $$ = "entry"; }
	| "section"  { $$ = "section"; }
	| "library"  { $$ = "library"; }
	| "kind"     { $$ = "kind"; }
	| "socket"   { $$ = "socket"; }
	| "target"   { $$ = "target"; }
	| "event"    { $$ = "event"; }
	| "flag"     { $$ = "flag"; }
	| "match"    { $$ = "match"; }
	| "product"  { $$ = "product"; }
	| "hidden"   { $$ = "hidden"; }
	| "text"     { $$ = "text"; }
	| "global"   { $$ = "global"; }
	| "var"      { $$ = "var"; }
	| "per"      { $$ = "per"; }
	| "set"      { $$ = "set"; }
	| "clear"    { $$ = "clear"; }
	| "buffered" { $$ = "buffered"; }
	| "collect"  { $$ = "collect"; }
	| "joined"   { $$ = "joined"; }
	| "unescape" { $$ = "unescape"; }
	| "xor"      { $$ = "xor"; }
	| "filter"   { $$ = "filter"; }
	| "unless"   { $$ = "unless"; }
	| "symbol"   { $$ = "symbol"; }
	| "offset"   { $$ = "offset"; }
	| "accessor" { $$ = "accessor"; }
	| "load"     { $$ = "load"; }
	| "called"   { $$ = "called"; }
	| "calls"    { $$ = "calls"; }
	| "with"     { $$ = "with"; }
	| "alias"    { $$ = "alias"; }
	| "through"  { $$ = "through"; }
	| "copy"     { $$ = "copy"; }
	| "abi"      { $$ = "abi"; }
	| "slot"     { $$ = "slot"; }
	| "of"       { $$ = "of"; }
	| "file"     { $$ = "file"; }
	| "steps"    { $$ = "steps"; }
	| "do"       { $$ = "do"; }
	;

/* A struct field, or a dotted path through structs held inline: `s3.client_random`. */
path:
	  name
	| path '.' name          { $$ = arena_printf(ctx->arena, "%s.%s", $1, $3); }
	;

/* ---- globals, variables, filters ------------------------------------------ */

global:
	  "global" name ':' type hook_opts ';'
		{
			$$ = NEW(struct ast_global);
			$$->name = $2;
			$$->loc = @2;
			$$->type = $4;
			$$->optional = $5->optional;
			$$->target_name = $5->target_name;
			$$->target_loc = $5->target_loc;
			if ($5->abi_name || $5->unless || $5->symbol_flag.name || $5->offset_flag.name || $5->called_by ||
			    $5->called_with || $5->unless_calls || $5->wire_only || $5->slot)
				diag_error(ctx->diag, @5, "a global takes only 'optional' and 'in TARGET'");
		}
	;

var:
	  "var" name ':' SCALAR "per" name ';'
		{
			$$ = NEW(struct ast_var);
			$$->name = $2;
			$$->loc = @2;
			$$->type = $4;
			$$->per = $6;
			$$->per_loc = @6;
		}
	;

steps:
	  "steps" name steps_params '{' stmts '}'
		{
			$$ = NEW(struct ast_steps);
			$$->name = $2;
			$$->loc = @2;
			$$->params = $3;
			$$->stmts = $5;
		}
	;

/* `steps NAME(a, b)`: the names its statements read from where they are done */
steps_params:
	  %empty                     { $$ = NULL; }
	| '(' ')'                    { $$ = NULL; }
	| '(' enum_members ')'       { $$ = $2; }
	;

filter:
	  "filter" name filter_op INT ';'
		{
			$$ = NEW(struct ast_filter);
			$$->field = $2; $$->loc = @2; $$->op = $3; $$->op_loc = @3;
			$$->kind = FV_INT; $$->int_value = (long long)$4; $$->value_loc = @4;
		}
	| "filter" name filter_op '-' INT ';'
		{
			$$ = NEW(struct ast_filter);
			$$->field = $2; $$->loc = @2; $$->op = $3; $$->op_loc = @3;
			$$->kind = FV_INT; $$->int_value = -(long long)$5; $$->value_loc = @5;
		}
	| "filter" name filter_op STRING ';'
		{
			$$ = NEW(struct ast_filter);
			$$->field = $2; $$->loc = @2; $$->op = $3; $$->op_loc = @3;
			$$->kind = FV_STRING; $$->str_value = $4; $$->value_loc = @4;
		}
	| "filter" name filter_op name ';'
		{
			$$ = NEW(struct ast_filter);
			$$->field = $2; $$->loc = @2; $$->op = $3; $$->op_loc = @3;
			$$->kind = FV_FLAG; $$->str_value = $4; $$->value_loc = @4;
		}
	;

filter_op:
	  "=="   { $$ = OP_EQ; }
	| "!="   { $$ = OP_NE; }
	| '<'    { $$ = OP_LT; }
	| "<="   { $$ = OP_LE; }
	| '>'    { $$ = OP_GT; }
	| ">="   { $$ = OP_GE; }
	;

/* ---- flags ---------------------------------------------------------------- */

flag:
	  "flag" name flag_short ':' flag_type flag_default flag_help ';'
		{
			$$ = NEW(struct ast_flag);
			$$->name = $2;
			$$->loc = @2;
			$$->short_name = $3;
			$$->short_loc = @3;
			$$->type = $5;
			$$->default_value = $6;
			$$->help = $7;
		}
	;

flag_default:
	  %empty               { $$ = NULL; }
	| '=' literal          { $$ = $2; }
	;

flag_short:
	  %empty               { $$ = NULL; }
	| '(' STRING ')'       { $$ = $2; }
	;

flag_type:
	  "bool"               { $$ = FT_BOOL; }
	| "int"                { $$ = FT_INT; }
	| "string"             { $$ = FT_STRING; }
	| "path"               { $$ = FT_PATH; }
	;

literal:
	  INT                  { $$ = arena_printf(ctx->arena, "%llu", $1); }
	| '-' INT              { $$ = arena_printf(ctx->arena, "-%llu", $2); }
	| STRING
	| "true"               { $$ = "true"; }
	| "false"              { $$ = "false"; }
	;

flag_help:
	  %empty               { $$ = NULL; }
	| "help" STRING        { $$ = $2; }
	;

/* ---- targets -------------------------------------------------------------- */

target:
	  "target" name '{' target_body '}'   { $$ = $4; $$->name = $2; $$->loc = @2; }
	;

target_body:
	  %empty                              { $$ = NEW(struct ast_target); $$->override.index = -1; }
	| target_body "library" STRING ';'    { $$ = $1; set_once_str(ctx, &$$->library, $3, @2, "library"); }
	| target_body "kind" name ';'
		{
			$$ = $1;
			set_once_str(ctx, &$$->kind, $3, @2, "kind");
			$$->kind_loc = @3;
		}
	| target_body "override" flag_refs ';'
		{
			$$ = $1;
			if ($$->override.name)
				diag_error(ctx->diag, @2, "duplicate 'override' in this target");
			$$->override = *$3;
		}
	| target_body version
		{
			$$ = $1;
			if ($$->version)
				diag_error(ctx->diag, $2->loc, "duplicate 'version' block in this target");
			$$->version = $2;
		}
	| target_body error ';'               { $$ = $1; }
	;

flag_refs:
	  name
		{ $$ = NEW(struct flag_ref); $$->name = $1; $$->loc = @1; $$->index = -1; }
	| flag_refs ',' name
		{
			struct flag_ref *r = NEW(struct flag_ref);

			r->name = $3;
			r->loc = @3;
			r->index = -1;
			$$ = $1;
			APPEND($$->next, r);
		}
	;

version:
	  "version" '{' version_body '}'      { $$ = $3; $$->loc = @1; }
	;

version_body:
	  %empty                              { $$ = NEW(struct ast_version); $$->force.index = -1; }
	| version_body "section" STRING ';'   { $$ = $1; set_once_str(ctx, &$$->section, $3, @2, "section"); }
	| version_body "match" STRING opt_product ';'
		{
			struct ast_match *m = NEW(struct ast_match);

			$$ = $1;
			m->regex = $3; m->loc = @3;
			m->product = $4.name; m->product_loc = $4.loc;
			APPEND($$->matches, m);
		}
	| version_body "match" "file" STRING opt_product ';'
		{
			struct ast_match *m = NEW(struct ast_match);

			$$ = $1;
			m->regex = $4; m->loc = @4;
			m->file_name = true;
			m->product = $5.name; m->product_loc = $5.loc;
			APPEND($$->matches, m);
		}
	| version_body "needed" STRING ';'    { $$ = $1; set_once_str(ctx, &$$->needed, $3, @2, "needed"); }
	| version_body "force" name ';'
		{
			$$ = $1;
			if ($$->force.name)
				diag_error(ctx->diag, @2, "duplicate 'force' in this version block");
			$$->force.name = $3;
			$$->force.loc = @3;
		}
	| version_body error ';'              { $$ = $1; }
	;

/* ---- structs and types ---------------------------------------------------- */

struct:
	  "struct" name '{' struct_fields '}'
		{ $$ = NEW(struct ast_struct); $$->name = $2; $$->loc = @2; $$->fields = $4; }
	| "struct" name "abi" '{' struct_fields '}'
		{ $$ = NEW(struct ast_struct); $$->name = $2; $$->loc = @2; $$->fields = $5; $$->abi = true; }
	;

struct_fields:
	  %empty                              { $$ = NULL; }
	| struct_fields path ':' type ';'
		{
			struct ast_struct_field *f = NEW(struct ast_struct_field);

			f->name = $2;
			f->loc = @2;
			f->type = $4;
			$$ = $1;
			APPEND($$, f);
		}
	| struct_fields path ':' type accessor ';'
		{
			struct ast_struct_field *f = $5;

			f->name = $2;
			f->loc = @2;
			f->type = $4;
			$$ = $1;
			APPEND($$, f);
		}
	| struct_fields error ';'             { $$ = $1; }
	;

/* `accessor SYM [load N] [through S.F]` or `accessor SYM copy`: the field, with only its accessor filled in. */
accessor:
	  "accessor" name accessor_load accessor_through
		{
			$$ = NEW(struct ast_struct_field);
			$$->accessor = $2;
			$$->accessor_loc = @2;
			$$->accessor_load = $3 > 1000 ? 1000 : (int)$3;
			$$->accessor_load_loc = @3;
			$$->accessor_through = $4;
			$$->accessor_through_loc = @4;
		}
	| "accessor" name "copy"
		{
			$$ = NEW(struct ast_struct_field);
			$$->accessor = $2;
			$$->accessor_loc = @2;
			$$->accessor_load = 1;
			$$->accessor_load_loc = @2;
			$$->accessor_copy = true;
			$$->accessor_copy_loc = @3;
		}
	;

accessor_load:
	  %empty                { $$ = 1; }
	| "load" INT            { $$ = $2; @$ = @2; }
	;

accessor_through:
	  %empty                { $$ = NULL; }
	| "through" path        { $$ = $2; @$ = @2; }
	;

type:
	  SCALAR                { $$ = NEW(struct ast_type); $$->kind = $1; $$->loc = @$; }
	| SCALAR '[' INT ']'
		{
			$$ = NEW(struct ast_type);
			$$->kind = $1;
			$$->array_len = $3 > 0xffffffULL ? 0xffffffu : (unsigned)$3;
			if ($3 == 0)
				$$->array_len = 0xffffffu;   /* reported by check.c as out of range */
			$$->loc = @$;
		}
	| "ptr"                 { $$ = NEW(struct ast_type); $$->kind = SC_PTR; $$->loc = @$; }
	| "ptr" type            { $$ = NEW(struct ast_type); $$->kind = SC_PTR; $$->pointee = $2; $$->loc = @$; }
	| "ptr" IDENT
		{
			$$ = NEW(struct ast_type);
			$$->kind = SC_PTR;
			$$->struct_name = $2;
			$$->struct_loc = @2;
			$$->loc = @$;
		}
	;

/* ---- layouts -------------------------------------------------------------- */

layout:
	  "layout" STRING opt_product "versions" STRING ".." opt_max_version layout_hooks '{' layout_body '}'
		{
			$$ = $10;
			$$->name = $2; $$->loc = @2;
			$$->product = $3.name; $$->product_loc = $3.loc;
			$$->min_version = $5; $$->min_loc = @5;
			$$->max_version = $7; $$->max_loc = @7;
			$$->hookset_name = $8.name; $$->hookset_loc = $8.loc;
		}
	;

/* `versions "3.0.0" ..`: no upper bound of its own (up to the next layout's first version) */
opt_max_version:
	  %empty                              { $$ = NULL; @$ = @0; }
	| STRING
	;

/* `product NAME` after a match rule or a layout's name */
opt_product:
	  %empty                              { $$.name = NULL; $$.loc = @$; }
	| "product" name                      { $$.name = $2; $$.loc = @2; }
	;

layout_hooks:
	  %empty                              { $$.name = NULL; $$.loc = @$; }
	| "hooks" name                        { $$.name = $2; $$.loc = @2; }
	;

layout_body:
	  %empty                              { $$ = NEW(struct ast_layout); }
	| layout_body "source" STRING ';'     { $$ = $1; set_once_str(ctx, &$$->source, $3, @2, "source"); }
	| layout_body "abi" name ';'
		{
			$$ = $1;
			set_once_str(ctx, &$$->abi_name, $3, @2, "abi");
			$$->abi_loc = @3;
		}
	| layout_body name '.' path '=' offset_number ';'
		{
			struct ast_offset *o = NEW(struct ast_offset);

			o->strct = $2;
			o->field = $4;
			o->loc = @2;
			o->loc.end_col = @4.end_col;
			o->loc.end_line = @4.end_line;
			o->value = $6;
			o->value_loc = @6;
			$$ = $1;
			APPEND($$->offsets, o);
		}
	| layout_body name '.' path '=' "absent" ';'
		{
			struct ast_offset *o = NEW(struct ast_offset);

			o->strct = $2;
			o->field = $4;
			o->loc = @2;
			o->loc.end_col = @4.end_col;
			o->loc.end_line = @4.end_line;
			o->value = -1;
			o->absent = true;
			o->value_loc = @6;
			$$ = $1;
			APPEND($$->offsets, o);
		}
	| layout_body "const" name '=' offset_number ';'
		{
			struct ast_offset *o = NEW(struct ast_offset);

			o->strct = $3;
			o->loc = @3;
			o->value = $5;
			o->value_loc = @5;
			o->constant = true;
			$$ = $1;
			APPEND($$->offsets, o);
		}
	| layout_body "struct" name "absent" ';'
		{
			struct ast_offset *o = NEW(struct ast_offset);

			o->strct = $3;
			o->loc = @3;
			o->value = -1;
			o->absent = true;
			o->whole_struct = true;
			o->value_loc = @4;
			$$ = $1;
			APPEND($$->offsets, o);
		}
	| layout_body error ';'               { $$ = $1; }
	;

offset_number:
	  INT                  { $$ = $1 > 0x7fffffffULL ? 0x80000000LL : (long long)$1; }
	| '-' INT              { $$ = $2 > 0x7fffffffULL ? -0x80000001LL : -(long long)$2; }
	;

/* ---- events --------------------------------------------------------------- */

event:
	  "event" name event_buffer '{' event_fields '}'
		{
			$$ = NEW(struct ast_event);
			$$->name = $2;
			$$->loc = @2;
			$$->buffer_by = $3;
			$$->buffer_loc = @3;
			$$->fields = $5;
		}
	;

event_buffer:
	  %empty                     { $$ = NULL; }
	| "buffered" "by" name       { $$ = $3; }
	;

event_fields:
	  %empty                              { $$ = NULL; }
	| event_fields field                  { $$ = $1; APPEND($$, $2); }
	| event_fields error ';'              { $$ = $1; }
	;

field:
	  name ':' SCALAR field_mods ';'
		{ $$ = $4; $$->name = $1; $$->loc = @1; $$->kind = FK_INT; $$->scalar = $3; $$->type_loc = @3; }
	| name ':' SCALAR '[' INT ']' field_mods ';'
		{
			$$ = $7; $$->name = $1; $$->loc = @1; $$->kind = FK_ARRAY; $$->scalar = $3; $$->type_loc = @3;
			$$->type_loc.end_col = @6.end_col;
			$$->array_len = $5 > 0xffffffULL || $5 == 0 ? 0xffffffu : (unsigned)$5;
		}
	| name ':' "enum" '{' enum_members '}' field_mods ';'
		{ $$ = $7; $$->name = $1; $$->loc = @1; $$->kind = FK_ENUM; $$->members = $5; $$->type_loc = @3; }
	| name ':' "tuple" field_mods ';'
		{ $$ = $4; $$->name = $1; $$->loc = @1; $$->kind = FK_TUPLE; $$->type_loc = @3; }
	| name ':' "bytes" field_mods ';'
		{ $$ = $4; $$->name = $1; $$->loc = @1; $$->kind = FK_BYTES; $$->type_loc = @3; }
	| name ':' "string" field_mods ';'
		{ $$ = $4; $$->name = $1; $$->loc = @1; $$->kind = FK_STRING; $$->type_loc = @3; }
	;

enum_members:
	  name
		{ $$ = NEW(struct ast_name); $$->name = $1; $$->loc = @1; }
	| enum_members ',' name
		{
			struct ast_name *n = NEW(struct ast_name);

			n->name = $3;
			n->loc = @3;
			$$ = $1;
			APPEND($$, n);
		}
	;

field_mods:
	  %empty             { $$ = NEW(struct ast_field); $$->check_index = -1; $$->present_bit = -1; }
	| field_mods "optional"
		{
			$$ = $1;
			if ($$->optional)
				diag_error(ctx->diag, @2, "'optional' given twice");
			$$->optional = true;
		}
	| field_mods "hidden"
		{
			$$ = $1;
			if ($$->hidden)
				diag_error(ctx->diag, @2, "'hidden' given twice");
			$$->hidden = true;
		}
	| field_mods "text"
		{
			$$ = $1;
			if ($$->text)
				diag_error(ctx->diag, @2, "'text' given twice");
			$$->text = true;
			$$->text_loc = @2;
		}
	| field_mods "collect" name '.' name
		{
			$$ = $1;
			if ($$->collect_event)
				diag_error(ctx->diag, @2, "'collect' given twice");
			$$->collect_event = $3;
			$$->collect_field = $5;
			$$->collect_loc = @3;
			$$->collect_loc.end_line = @5.end_line;
			$$->collect_loc.end_col = @5.end_col;
		}
	| field_mods "joined" STRING
		{
			$$ = $1;
			if ($$->joined)
				diag_error(ctx->diag, @2, "'joined' given twice");
			$$->joined = $3;
		}
	| field_mods "unescape" INT "xor" INT
		{
			$$ = $1;
			if ($$->unescape)
				diag_error(ctx->diag, @2, "'unescape' given twice");
			if ($3 > 255 || $5 > 255)
				diag_error(ctx->diag, @3, "'unescape' takes bytes (0 .. 255)");
			$$->unescape = true;
			$$->unescape_byte = (long long)$3;
			$$->unescape_xor = (long long)$5;
			$$->unescape_loc = @2;
		}
	| field_mods "check" name
		{
			$$ = $1;
			if ($$->check_name)
				diag_error(ctx->diag, @2, "'check' given twice");
			$$->check_name = $3;
			$$->check_loc = @3;
		}
	;

/* ---- hooks ---------------------------------------------------------------- */

hookset:
	  "hookset" name '{' hooks '}'
		{ $$ = NEW(struct ast_hookset); $$->name = $2; $$->loc = @2; $$->hooks = $4; }
	;

hooks:
	  %empty               { $$ = NULL; }
	| hooks hook           { $$ = $1; APPEND($$, $2); }
	;

hook:
	  "hook" hook_symbol hook_opts '(' params_opt ')' ret_type '{' hook_body '}'
		{
			$$ = $9;
			$$->symbol = $2;
			$$->loc = @2;
			$$->optional = $3->optional;
			$$->target_name = $3->target_name;
			$$->target_loc = $3->target_loc;
			$$->abi_name = $3->abi_name;
			$$->abi_loc = $3->abi_loc;
			$$->unless = $3->unless;
			$$->unless_loc = $3->unless_loc;
			$$->called_by = $3->called_by;
			$$->called_with = $3->called_with;
			$$->slot = $3->slot;
			$$->slot_loc = $3->slot_loc;
			$$->slot_of = $3->slot_of;
			$$->slot_of_loc = $3->slot_of_loc;
			$$->unless_calls = $3->unless_calls;
			$$->wire_only = $3->wire_only;
			$$->symbol_flag = $3->symbol_flag;
			$$->offset_flag = $3->offset_flag;
			$$->params = $5;
			$$->ret_type = $7;
		}
	;

hook_symbol:
	  IDENT
	| STRING
	;

symbol_list:
	  hook_symbol
		{ $$ = NEW(struct ast_name); $$->name = $1; $$->loc = @1; }
	| symbol_list ',' hook_symbol
		{
			struct ast_name *n = NEW(struct ast_name);

			n->name = $3;
			n->loc = @3;
			$$ = $1;
			APPEND($$, n);
		}
	;

string_list:
	  STRING
		{ $$ = NEW(struct ast_name); $$->name = $1; $$->loc = @1; }
	| string_list ',' STRING
		{
			struct ast_name *n = NEW(struct ast_name);

			n->name = $3;
			n->loc = @3;
			$$ = $1;
			APPEND($$, n);
		}
	;

hook_opts:
	  %empty
		{
			$$ = NEW(struct ast_hook);
			$$->symbol_flag.index = -1;
			$$->offset_flag.index = -1;
		}
	| hook_opts "unless" hook_symbol
		{
			$$ = $1;
			if ($$->unless)
				diag_error(ctx->diag, @2, "'unless' given twice");
			$$->unless = $3;
			$$->unless_loc = @3;
		}
	| hook_opts "called" "by" symbol_list
		{
			$$ = $1;
			if ($$->called_by)
				diag_error(ctx->diag, @2, "'called by' given twice");
			$$->called_by = $4;
		}
	| hook_opts "called" "with" string_list
		{
			$$ = $1;
			if ($$->called_with)
				diag_error(ctx->diag, @2, "'called with' given twice");
			$$->called_with = $4;
		}
	| hook_opts "slot" path "of" hook_symbol
		{
			$$ = $1;
			if ($$->slot)
				diag_error(ctx->diag, @2, "'slot' given twice");
			$$->slot = $3;
			$$->slot_loc = @3;
			$$->slot_of = $5;
			$$->slot_of_loc = @5;
		}
	| hook_opts "unless" "calls" symbol_list
		{
			$$ = $1;
			if ($$->unless_calls)
				diag_error(ctx->diag, @2, "'unless calls' given twice");
			$$->unless_calls = $4;
		}
	| hook_opts "symbol" name
		{
			$$ = $1;
			if ($$->symbol_flag.name)
				diag_error(ctx->diag, @2, "'symbol' given twice");
			$$->symbol_flag.name = $3;
			$$->symbol_flag.loc = @3;
		}
	| hook_opts "offset" name
		{
			$$ = $1;
			if ($$->offset_flag.name)
				diag_error(ctx->diag, @2, "'offset' given twice");
			$$->offset_flag.name = $3;
			$$->offset_flag.loc = @3;
		}
	| hook_opts "optional"
		{
			$$ = $1;
			if ($$->optional)
				diag_error(ctx->diag, @2, "'optional' given twice");
			$$->optional = true;
		}
	| hook_opts "when" name
		{
			$$ = $1;
			if (strcmp($3, "wire") != 0)
				diag_error(ctx->diag, @3, "a hook's 'when' takes only 'wire' (attached only with --from wire)");
			else if ($$->wire_only)
				diag_error(ctx->diag, @2, "'when wire' given twice");
			$$->wire_only = true;
		}
	| hook_opts "in" name
		{
			$$ = $1;
			if ($$->target_name)
				diag_error(ctx->diag, @2, "'in' given twice");
			$$->target_name = $3;
			$$->target_loc = @3;
		}
	| hook_opts "abi" name
		{
			$$ = $1;
			if ($$->abi_name)
				diag_error(ctx->diag, @2, "'abi' given twice");
			$$->abi_name = $3;
			$$->abi_loc = @3;
		}
	;

params_opt:
	  %empty                     { $$ = NULL; }
	| params
	;

params:
	  param
	| params ',' param           { $$ = $1; APPEND($$, $3); }
	;

param:
	  name ':' type              { $$ = NEW(struct ast_param); $$->name = $1; $$->loc = @1; $$->type = $3; }
	;

ret_type:
	  %empty                     { $$ = NULL; }
	| "->" type                  { $$ = $2; }
	;

hook_body:
	  %empty                     { $$ = NEW(struct ast_hook); }
	| hook_body "track" "socket" "by" expr ';'
		{
			$$ = $1;
			if ($$->track)
				diag_error(ctx->diag, @2, "duplicate 'track socket' in this hook");
			$$->track = $5;
			$$->track_loc = @2;
		}
	| hook_body "on" "entry" when_opt '{' stmts '}'
		{
			struct ast_block *b = NEW(struct ast_block);

			b->loc = @3;
			b->when = $4;
			b->stmts = $6;
			$$ = $1;
			if ($$->entry)
				diag_error(ctx->diag, @2, "duplicate 'on entry' block in this hook");
			$$->entry = b;
		}
	| hook_body "on" "return" when_opt '{' stmts '}'
		{
			struct ast_block *b = NEW(struct ast_block);

			b->loc = @3;
			b->at_return = true;
			b->when = $4;
			b->stmts = $6;
			$$ = $1;
			if ($$->ret)
				diag_error(ctx->diag, @2, "duplicate 'on return' block in this hook");
			$$->ret = b;
		}
	| hook_body error ';'        { $$ = $1; }
	| hook_body error '}'        { $$ = $1; }
	;

when_opt:
	  %empty                     { $$ = NULL; }
	| "when" expr                { $$ = $2; }
	;

stmts:
	  %empty                     { $$ = NULL; }
	| stmts stmt                 { $$ = $1; APPEND($$, $2); }
	| stmts error ';'            { $$ = $1; }
	;

stmt:
	  "let" name '=' expr ';'
		{
			$$ = NEW(struct ast_stmt);
			$$->kind = ST_LET;
			$$->loc = @$;
			$$->name = $2;
			$$->name_loc = @2;
			$$->value = $4;
		}
	| "set" name '=' expr ';'
		{
			$$ = NEW(struct ast_stmt);
			$$->kind = ST_SET;
			$$->loc = @$;
			$$->name = $2;
			$$->name_loc = @2;
			$$->value = $4;
		}
	| "clear" name ';'
		{
			$$ = NEW(struct ast_stmt);
			$$->kind = ST_CLEAR;
			$$->loc = @$;
			$$->name = $2;
			$$->name_loc = @2;
		}
	| "if" expr '{' stmts '}'
		{
			$$ = NEW(struct ast_stmt);
			$$->kind = ST_IF;
			$$->loc = @1;
			$$->value = $2;
			$$->body = $4;
		}
	| "do" name ';'
		{
			$$ = NEW(struct ast_stmt);
			$$->kind = ST_DO;
			$$->loc = @$;
			$$->name = $2;
			$$->name_loc = @2;
		}
	| "do" name '(' args_opt ')' ';'
		{
			$$ = NEW(struct ast_stmt);
			$$->kind = ST_DO;
			$$->loc = @$;
			$$->name = $2;
			$$->name_loc = @2;
			$$->value = $4;
		}
	| "emit" name '{' assigns '}'
		{
			$$ = NEW(struct ast_stmt);
			$$->kind = ST_EMIT;
			$$->loc = @1;
			$$->name = $2;
			$$->name_loc = @2;
			$$->assigns = $4;
		}
	;

assigns:
	  %empty                     { $$ = NULL; }
	| assigns name '=' expr ';'
		{
			struct ast_assign *a = NEW(struct ast_assign);

			a->name = $2;
			a->loc = @2;
			a->value = $4;
			$$ = $1;
			APPEND($$, a);
		}
	| assigns error ';'          { $$ = $1; }
	;

/* ---- expressions ---------------------------------------------------------- */

expr:
	  expr '?' expr ':' expr
		{
			$$ = new_expr(ctx, EX_COND, @$);
			$$->a = $1;
			$$->b = $3;
			$$->c = $5;
		}
	| expr "??" expr             { $$ = new_binary(ctx, OP_COALESCE, $1, $3, @$); }
	| expr "||" expr             { $$ = new_binary(ctx, OP_OR, $1, $3, @$); }
	| expr "&&" expr             { $$ = new_binary(ctx, OP_AND, $1, $3, @$); }
	| expr "==" expr             { $$ = new_binary(ctx, OP_EQ, $1, $3, @$); }
	| expr "!=" expr             { $$ = new_binary(ctx, OP_NE, $1, $3, @$); }
	| expr '<' expr              { $$ = new_binary(ctx, OP_LT, $1, $3, @$); }
	| expr "<=" expr             { $$ = new_binary(ctx, OP_LE, $1, $3, @$); }
	| expr '>' expr              { $$ = new_binary(ctx, OP_GT, $1, $3, @$); }
	| expr ">=" expr             { $$ = new_binary(ctx, OP_GE, $1, $3, @$); }
	| expr '|' expr              { $$ = new_binary(ctx, OP_BITOR, $1, $3, @$); }
	| expr '&' expr              { $$ = new_binary(ctx, OP_BITAND, $1, $3, @$); }
	| expr '+' expr              { $$ = new_binary(ctx, OP_ADD, $1, $3, @$); }
	| expr '-' expr              { $$ = new_binary(ctx, OP_SUB, $1, $3, @$); }
	| expr '*' expr              { $$ = new_binary(ctx, OP_MUL, $1, $3, @$); }
	| '!' expr %prec UNARY       { $$ = new_unary(ctx, OP_NOT, $2, @$); }
	| '-' expr %prec UNARY       { $$ = new_unary(ctx, OP_NEG, $2, @$); }
	| '*' expr %prec UNARY       { $$ = new_unary(ctx, OP_DEREF, $2, @$); }
	| '(' type ')' expr %prec UNARY
		{
			$$ = new_expr(ctx, EX_CAST, @$);
			$$->cast = $2;
			$$->a = $4;
		}
	| postfix
	;

postfix:
	  primary
	| postfix "->" path
		{
			$$ = new_expr(ctx, EX_ARROW, @$);
			$$->a = $1;
			$$->name = $3;
			$$->name_loc = @3;
		}
	| postfix '[' expr ']'
		{
			$$ = new_expr(ctx, EX_INDEX, @$);
			$$->a = $1;
			$$->b = $3;
		}
	;

primary:
	  INT
		{
			$$ = new_expr(ctx, EX_INT, @$);
			$$->int_value = (long long)$1;
			$$->int_unsigned = $1 > 0x7fffffffffffffffULL;
		}
	| name
		{
			$$ = new_expr(ctx, EX_IDENT, @$);
			$$->name = $1;
			$$->name_loc = @1;
		}
	| name '(' args_opt ')'
		{
			$$ = new_expr(ctx, EX_CALL, @$);
			$$->name = $1;
			$$->name_loc = @1;
			$$->a = $3;
		}
	| "absent"                   { $$ = new_expr(ctx, EX_ABSENT, @$); }
	| '(' expr ')'               { $$ = $2; }
	;

args_opt:
	  %empty                     { $$ = NULL; }
	| args
	;

args:
	  expr
	| args ',' expr              { $$ = $1; APPEND($$, $3); }
	;

%%

static void yyerror(YYLTYPE *loc, yyscan_t scanner, struct parse_ctx *ctx, const char *msg)
{
	(void)scanner;
	diag_error(ctx->diag, *loc, "%s", msg);
}

static void set_once_str(struct parse_ctx *ctx, const char **slot, const char *value, YYLTYPE loc,
			 const char *what)
{
	if (*slot)
		diag_error(ctx->diag, loc, "duplicate '%s'", what);
	*slot = value;
}

static struct ast_expr *new_expr(struct parse_ctx *ctx, enum expr_kind kind, YYLTYPE loc)
{
	struct ast_expr *e = NEW(struct ast_expr);

	e->kind = kind;
	e->loc = loc;
	return e;
}

static struct ast_expr *new_binary(struct parse_ctx *ctx, enum op op, struct ast_expr *a, struct ast_expr *b,
				   YYLTYPE loc)
{
	struct ast_expr *e = new_expr(ctx, EX_BINARY, loc);

	e->op = op;
	e->a = a;
	e->b = b;
	return e;
}

/* `-5` stays one literal, so that it prints and compares as written. */
static struct ast_expr *new_unary(struct parse_ctx *ctx, enum op op, struct ast_expr *a, YYLTYPE loc)
{
	struct ast_expr *e;

	if (op == OP_NEG && a->kind == EX_INT && !a->int_unsigned) {
		a->int_value = -a->int_value;
		a->loc = loc;
		return a;
	}
	e = new_expr(ctx, EX_UNARY, loc);
	e->op = op;
	e->a = a;
	return e;
}

void parse_track_location(struct parse_ctx *ctx, struct loc *loc, const char *text, int len)
{
	loc->src = ctx->src;
	loc->line = ctx->line;
	loc->col = ctx->col;
	for (int i = 0; i < len; i++) {
		loc->end_line = ctx->line;
		loc->end_col = ctx->col;
		if (text[i] == '\n') {
			ctx->line++;
			ctx->col = 1;
		} else {
			ctx->col++;
		}
	}
}

struct ast_module *parse_source(struct arena *arena, struct diag *diag, const struct source *src,
				struct ast_layout **layouts)
{
	struct parse_ctx ctx = { .arena = arena, .diag = diag, .src = src, .line = 1, .col = 1,
				 .start_token = layouts ? LAYOUTS_FILE : 0 };
	yyscan_t scanner;
	YY_BUFFER_STATE buffer;

	if (yylex_init_extra(&ctx, &scanner))
		return NULL;
	buffer = yy_scan_string(src->text, scanner);
	yyparse(scanner, &ctx);
	yy_delete_buffer(buffer, scanner);
	yylex_destroy(scanner);
	if (layouts)
		*layouts = ctx.layouts;
	return ctx.modules;
}
