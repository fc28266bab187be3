/* SPDX-License-Identifier: MIT */
/* run: launch a command with tracking engaged at its exec, before its first
 * instruction, watch it until it exits, and exit with its status.
 *
 * run --user USER[:GROUP]: the names are resolved here (the passwd and group
 * databases); the kernel layer gets numbers and an environment, and the
 * child switches to them between its fork and its exec (launch.c). */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "loop.h"
#include "pagescan/model/util.h"

/* The user to run as and what goes with it. */
struct run_as {
	struct ps_launch_opts o;
	char who[300];
	gid_t *groups;
	char **envp;
};

/* A number only (no sign, no blanks): 0 and *id set, else -1. */
static int parse_id(const char *s, unsigned *id)
{
	long long v;
	if (!*s || s[strspn(s, "0123456789")] != '\0' || ps_parse_int(s, 0, (long long)UINT_MAX - 1, &v, NULL) < 0)
		return -1;
	*id = (unsigned)v;
	return 0;
}

/* pagescan's environment with HOME, USER, LOGNAME and SHELL set to the
 * user's (as su(1) without "-" does), unless preserve. */
static char **user_env(const struct passwd *pw, bool preserve)
{
	static const char *const vars[] = { "HOME", "USER", "LOGNAME", "SHELL" };
	const char *vals[] = { pw->pw_dir, pw->pw_name, pw->pw_name,
	                       pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh" };
	size_t n = 0, k = 0;

	while (environ && environ[n])
		n++;
	char **env = calloc(n + 5, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool ours = false;
		for (size_t v = 0; !preserve && v < 4; v++) {
			size_t len = strlen(vars[v]);
			if (strncmp(environ[i], vars[v], len) == 0 && environ[i][len] == '=')
				ours = true;
		}
		if (!ours && !(env[k++] = strdup(environ[i])))
			goto oom;
	}
	for (size_t v = 0; !preserve && v < 4; v++) {
		if (asprintf(&env[k], "%s=%s", vars[v], vals[v]) < 0) {
			env[k] = NULL;
			goto oom;
		}
		k++;
	}
	env[k] = NULL;
	return env;
oom:
	for (size_t i = 0; i < k; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void run_as_free(struct run_as *ra)
{
	for (size_t i = 0; ra->envp && ra->envp[i]; i++)
		free(ra->envp[i]);
	free(ra->envp);
	free(ra->groups);
	*ra = (struct run_as){ 0 };
}

/* getpwnam_r/getpwuid_r (name NULL: by uid) and getgrnam_r into *buf
 * (allocated, grown as needed, the caller frees it): 0, ENOENT when there
 * is no such entry, or another errno. */
static int lookup_user(const char *name, uid_t uid, struct passwd *pw, char **buf)
{
	for (size_t size = 1024; size <= (1u << 20); size *= 2) {
		struct passwd *res = NULL;
		char *b = realloc(*buf, size);
		if (!b)
			return ENOMEM;
		*buf = b;
		int e = name ? getpwnam_r(name, pw, b, size, &res) : getpwuid_r(uid, pw, b, size, &res);
		if (e == ERANGE)
			continue;
		if (res)
			return 0;
		/* "not found" comes as 0 or one of these */
		return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM ? ENOENT : e;
	}
	return ERANGE;
}

static int lookup_group(const char *name, struct group *gr, char **buf)
{
	for (size_t size = 1024; size <= (1u << 20); size *= 2) {
		struct group *res = NULL;
		char *b = realloc(*buf, size);
		if (!b)
			return ENOMEM;
		*buf = b;
		int e = getgrnam_r(name, gr, b, size, &res);
		if (e == ERANGE)
			continue;
		if (res)
			return 0;
		return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM ? ENOENT : e;
	}
	return ERANGE;
}

/* USER[:GROUP] (names or numbers) to ids, groups and environment.
 * PS_EXIT_OK, PS_EXIT_USAGE for a user or group that does not exist, or
 * PS_EXIT_FAIL; err says why. */
static int resolve_user(const char *spec, bool preserve_env, struct run_as *ra, struct ps_err *err)
{
	char user[256], *pwbuf = NULL, *grbuf = NULL;
	const char *colon = strchr(spec, ':'), *group = colon ? colon + 1 : NULL;
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	struct passwd pwd, *pw = &pwd;
	unsigned id;
	int e, rc = PS_EXIT_FAIL;

	*ra = (struct run_as){ 0 };
	if (ulen == 0 || ulen >= sizeof(user) || (group && !*group)) {
		ps_errf(err, EINVAL, "invalid --user \"%s\": expected USER or USER:GROUP", spec);
		return PS_EXIT_USAGE;
	}
	memcpy(user, spec, ulen);
	user[ulen] = '\0';
	e = lookup_user(user, 0, &pwd, &pwbuf);
	if (e == ENOENT && parse_id(user, &id) == 0)
		e = lookup_user(NULL, (uid_t)id, &pwd, &pwbuf);
	if (e) {
		if (e == ENOENT) {
			ps_errf(err, ENOENT, "--user: no such user \"%s\"", user);
			rc = PS_EXIT_USAGE;
		} else {
			ps_errf(err, e, "--user: cannot look up user \"%s\": %s", user, strerror(e));
		}
		goto fail;
	}
	ra->o.set_ids = true;
	ra->o.uid = pw->pw_uid;
	ra->o.gid = pw->pw_gid;
	if (group) {
		struct group grp;
		e = lookup_group(group, &grp, &grbuf);
		if (e == 0) {
			ra->o.gid = grp.gr_gid;
		} else if (e == ENOENT && parse_id(group, &id) == 0) {
			ra->o.gid = (gid_t)id;
		} else if (e == ENOENT) {
			ps_errf(err, ENOENT, "--user: no such group \"%s\"", group);
			rc = PS_EXIT_USAGE;
			goto fail;
		} else {
			ps_errf(err, e, "--user: cannot look up group \"%s\": %s", group, strerror(e));
			goto fail;
		}
	}
	snprintf(ra->who, sizeof(ra->who), "user %s", pw->pw_name);
	ra->o.who = ra->who;

	/* Supplementary groups as initgroups(3) would set them: every group
	 * that lists the user, and the chosen gid. */
	int n = 32;
	for (;;) {
		gid_t *g = realloc(ra->groups, (size_t)n * sizeof(*g));
		if (!g)
			goto oom;
		ra->groups = g;
		int want = n;
		if (getgrouplist(pw->pw_name, ra->o.gid, ra->groups, &want) >= 0) {
			n = want;
			break;
		}
		if (want <= n || want > 65536) {
			ps_errf(err, EINVAL, "--user: cannot list the groups of user \"%s\"", pw->pw_name);
			goto fail;
		}
		n = want;
	}
	ra->o.groups = ra->groups;
	ra->o.ngroups = (size_t)n;
	if (!(ra->envp = user_env(pw, preserve_env)))
		goto oom;
	ra->o.envp = ra->envp;
	free(pwbuf);
	free(grbuf);
	return PS_EXIT_OK;
oom:
	ps_errf(err, ENOMEM, "out of memory");
fail:
	run_as_free(ra);
	free(pwbuf);
	free(grbuf);
	return rc;
}

int ps_cmd_run(const struct ps_watch_args *a, struct ps_err *err)
{
	struct ps_launch launch = { 0 };
	struct run_as ra = { 0 };
	struct ps_loop l;
	int rc = PS_EXIT_FAIL;

	/* Resolved before anything is opened or started. */
	if (a->user && (rc = resolve_user(a->user, a->preserve_env, &ra, err)) != PS_EXIT_OK)
		return rc;
	rc = PS_EXIT_FAIL;
	if (ps_loop_init(&l, a, err) < 0) {
		run_as_free(&ra);
		return PS_EXIT_FAIL;
	}
	launch.follow_forks = !a->no_follow_forks;
	if (ps_loop_make_sinks(&l, a->heatmap, err) < 0 ||
	    ps_launch_start(&launch, a->argv, a->user ? &ra.o : NULL, err) < 0)
		goto out;
	l.launch = &launch;
	/* The output's writer thread only now: the command has been forked. */
	if (ps_loop_async_output(&l, err) < 0 || ps_loop_launched(&l, err) < 0)
		goto kill;
	/* Once the command runs, nothing of pagescan's ends it: a failure
	 * ends the watch (the end record says why), tracking is let go, and the
	 * command runs to its end untracked. So does a watch that ends early
	 * (count, duration). pagescan waits for it to pass its status on. */
	bool failed = ps_loop_run(&l, err) < 0;
	if (failed)
		ps_loop_end(&l, PS_END_ERROR, err->msg);
	ps_loop_release(&l);
	rc = ps_launch_wait(&launch);
	ps_loop_free(&l);
	run_as_free(&ra);
	if (failed) {
		char cause[sizeof(err->msg)];
		snprintf(cause, sizeof(cause), "%s", err->msg);
		ps_errf(err, err->code, "%s; tracking stopped there, the command ran on untracked and exited with status %d",
		        cause, rc);
		return PS_EXIT_FAIL;
	}
	if (l.stalled) {
		ps_errf(err, ENOBUFS, "the output was not read: %.1f MiB waiting; tracking stopped so as not to hold up the command; write to a file with -o or read the pipe",
		        (double)l.stalled_bytes / (1024.0 * 1024.0));
		return PS_EXIT_FAIL;
	}
	if (l.late_err.code) {
		*err = l.late_err;
		return PS_EXIT_FAIL;
	}
	if (l.aout_error < 0 && l.aout_error != -EPIPE) {
		if (a->output)
			ps_errf(err, -l.aout_error, "cannot write the report to %s: %s", a->output, strerror(-l.aout_error));
		else
			ps_errf(err, -l.aout_error, "cannot write the report: %s", strerror(-l.aout_error));
		return PS_EXIT_FAIL;
	}
	return rc;
kill:
	ps_launch_kill(&launch);
out:
	ps_loop_free(&l);
	run_as_free(&ra);
	return rc;
}
