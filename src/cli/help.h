/* SPDX-License-Identifier: MIT */
/* argp help filter: help text names the page categories through a
 * placeholder, filled in from the category table. */
#ifndef PAGESCAN_CLI_HELP_H
#define PAGESCAN_CLI_HELP_H

/* Written in a help string (an argp doc or an option's doc) where the
 * space-separated category names go: "Categories: " PS_HELP_CATEGORIES ". " */
#define PS_HELP_CATEGORIES "@CATEGORIES@"

/* For struct argp's help_filter: text with every PS_HELP_CATEGORIES replaced
 * by ps_category_names(). Returns text itself when there is nothing to
 * replace (or no memory), else a malloc'd copy that argp frees. */
char *ps_help_filter(int key, const char *text, void *input);

#endif
