// SPDX-License-Identifier: MIT
/* vmm_output: vmm-args' output, collected (argv words, comments, notes,
 * the --json disks) and printed as shell words or JSON. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "cli/vmm.h"
#include "config/settings.h"
#include "daemon/state.h"
#include "pins/maps.h"
#include "plan/plan.h"

/* --- collecting the output ---------------------------------------------- */

/* Room for one more of nr elements in *arr (doubling, first at least). */
static int grow(void **arr, size_t *cap, size_t nr, size_t elem, size_t first)
{
	size_t n = *cap ? *cap * 2 : first;
	void *v;

	if (nr < *cap)
		return 0;
	v = reallocarray(*arr, n, elem);
	if (!v)
		return -ENOMEM;
	*arr = v;
	*cap = n;
	return 0;
}

void vmm_fail(struct vmm_ctx *c, int err)
{
	if (!c->err)
		c->err = err;
}

/* Append an entry; takes text (NULL: an allocation failed). */
static void vmm_push(struct vmm_ctx *c, char *text, bool comment)
{
	if (!text) {
		vmm_fail(c, -ENOMEM);
		return;
	}
	if (grow((void **)&c->items, &c->cap_items, c->nr_items,
		 sizeof(*c->items), 32)) {
		free(text);
		vmm_fail(c, -ENOMEM);
		return;
	}
	c->items[c->nr_items].text = text;
	c->items[c->nr_items].comment = comment;
	c->nr_items++;
}

void vmm_arg(struct vmm_ctx *c, const char *arg)
{
	vmm_push(c, strdup(arg), false);
}

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;

	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

void vmm_comment(struct vmm_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmm_push(c, vfmt(fmt, ap), true);
	va_end(ap);
}

/* A note: what the VMM cannot express, or where a value came from. */
void vmm_note(struct vmm_ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vfmt(fmt, ap);
	va_end(ap);
	if (!s) {
		vmm_fail(c, -ENOMEM);
		return;
	}
	if (grow((void **)&c->notes, &c->cap_notes, c->nr_notes,
		 sizeof(*c->notes), 8)) {
		free(s);
		vmm_fail(c, -ENOMEM);
		return;
	}
	c->notes[c->nr_notes++] = s;
}

void opt_begin(struct optstr *s)
{
	s->buf = NULL;
	s->len = 0;
	s->first = true;
	s->f = open_memstream(&s->buf, &s->len);
}

/* key=val, or the bare word key when val is NULL */
void opt_str(struct optstr *s, const char *key, const char *val)
{
	if (!s->f)
		return;
	if (!s->first)
		fputc(',', s->f);
	s->first = false;
	fputs(key, s->f);
	if (!val)
		return;
	fputc('=', s->f);
	for (; *val; val++) {
		if (*val == ',')
			fputc(',', s->f);
		fputc(*val, s->f);
	}
}

void opt_u64(struct optstr *s, const char *key, uint64_t val)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	opt_str(s, key, buf);
}

void opt_x64(struct optstr *s, const char *key, uint64_t val)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%016" PRIx64, val);
	opt_str(s, key, buf);
}

void opt_bool(struct optstr *s, const char *key, bool val)
{
	opt_str(s, key, val ? "on" : "off");
}

/* Finish the value and append it as one argv string. */
void opt_end(struct vmm_ctx *c, struct optstr *s)
{
	if (!s->f) {
		vmm_fail(c, -ENOMEM);
		return;
	}
	if (fclose(s->f)) {
		free(s->buf);
		vmm_fail(c, -ENOMEM);
		return;
	}
	vmm_push(c, s->buf, false);
}

/* --- printing ----------------------------------------------------------- */

/* One shell word: bare when safe, else single-quoted. */
static void print_word(const char *w)
{
	static const char safe[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";

	if (*w && strspn(w, safe) == strlen(w)) {
		fputs(w, stdout);
		return;
	}
	putchar('\'');
	for (; *w; w++) {
		if (*w == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*w);
	}
	putchar('\'');
}

/*
 * Text: the arguments as shell words, an option and its first value on one
 * line, further values of the same option (cloud-hypervisor's --disk) each
 * on its own line, every line but the last continued with a backslash;
 * then the comments and notes as '#' lines.  So the output pastes after a
 * VMM command line and reads back with eval "set -- $(...)": the comments
 * come after the command they would otherwise cut short.
 */
int vmm_print_text(const struct vmm_ctx *c, const char *header)
{
	bool open = false;
	size_t nvals = 0;

	for (size_t i = 0; i < c->nr_items; i++) {
		const struct vmm_item *it = &c->items[i];

		if (it->comment)
			continue;
		if ((it->text[0] == '-' || nvals) && open) {
			fputs(" \\\n", stdout);
			open = false;
		}
		if (it->text[0] == '-') {
			nvals = 0;
		} else {
			if (open)
				putchar(' ');
			else if (nvals)
				fputs("  ", stdout);
			nvals++;
		}
		print_word(it->text);
		open = true;
	}
	if (open)
		putchar('\n');
	printf("# %s\n", header);
	for (size_t i = 0; i < c->nr_items; i++)
		if (c->items[i].comment)
			printf("# %s\n", c->items[i].text);
	for (size_t i = 0; i < c->nr_notes; i++)
		printf("# note: %s\n", c->notes[i]);
	return fflush(stdout) ? -EIO : 0;
}

int vmm_print_json(struct vmm_ctx *c)
{
	struct json_object *r = json_object_new_object();
	struct json_object *args = json_object_new_array();
	struct json_object *notes = json_object_new_array();

	if (!r || !args || !notes) {
		json_object_put(r);
		json_object_put(args);
		json_object_put(notes);
		return -ENOMEM;
	}
	json_add_str(r, "vmm",
		     c->o->vmm == VMM_QEMU ? "qemu" : "cloud-hypervisor");
	json_add_str(r, "config", c->o->config);
	for (size_t i = 0; i < c->nr_items; i++)
		if (!c->items[i].comment)
			json_object_array_add(
				args, json_object_new_string(c->items[i].text));
	for (size_t i = 0; i < c->nr_notes; i++)
		json_object_array_add(notes,
				      json_object_new_string(c->notes[i]));
	json_object_object_add(r, "args", args);
	json_object_object_add(r, "notes", notes);
	json_object_object_add(r, "disks", c->disks);
	c->disks = NULL;
	return cli_print_json(r);
}

void vmm_ctx_fini(struct vmm_ctx *c)
{
	for (size_t i = 0; i < c->nr_items; i++)
		free(c->items[i].text);
	free(c->items);
	for (size_t i = 0; i < c->nr_notes; i++)
		free(c->notes[i]);
	free(c->notes);
	json_object_put(c->disks);
	state_fini(&c->state);
}
