/* SPDX-License-Identifier: MIT */
/*
 * What probec writes into a version rule and the runtime reads back: the
 * section name that names no section, for `match file "REGEX";`.
 */
#ifndef PS_VERSION_RULE_H
#define PS_VERSION_RULE_H

/* The regex reads the name of the file the path resolves to, not its strings. */
#define PS_VERSION_FILE_NAME "@file"

#endif
