/* SPDX-License-Identifier: MIT */
/*
 * The offsets tool's DWARF mode: a Go module's layout read from the DWARF of
 * a program built with one Go release (offsets/README.md, "Go programs").
 */
#ifndef OFFSETS_GO_DWARF_H
#define OFFSETS_GO_DWARF_H

/*
 * build/offsets --dwarf BINARY [--spec FILE] --module NAME [--layouts DIR]
 *   --type SPEC_STRUCT=GO_TYPE ... [--itab-hash CONST=CONCRETE,INTERFACE ...]
 *   [--name NAME] [--versions LO..] [--origin TEXT]
 * argv is the whole command line; returns the exit status.
 */
int go_dwarf_main(int argc, char **argv);

#endif
