// SPDX-License-Identifier: MIT
/*
 * instance and state: the instance lock (exclusive, names its holder,
 * dropped when the holder dies), the liveness check built on it (a live
 * but unrelated pid in a state file is not the daemon), the device mark,
 * the crash-point parser, and the state file's atomic write (0600, a
 * leftover or planted temporary file is never followed, phases round-trip).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/instance.h"
#include "daemon/state.h"

static char dir[] = "/tmp/blkxlate-instance.XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	setenv("BLKXLATE_RUN_DIR", dir, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A child that takes the lock, says so on a pipe and sleeps until killed. */
static pid_t child_holding(const char *instance)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int holder, fd = instance_lock(instance, &holder);

		c = fd >= 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	close(p[0]);
	close(p[1]);
	return pid;
}

static void test_lock_exclusive_and_holder(void **state)
{
	int holder = -1, fd;
	pid_t pid;

	(void)state;
	assert_int_equal(instance_lock_holder("t1"), 0);
	pid = child_holding("t1");
	assert_int_equal(instance_lock_holder("t1"), pid);
	assert_int_equal(instance_lock("t1", &holder), -EBUSY);
	assert_int_equal(holder, pid);
	/* another instance is not affected */
	fd = instance_lock("t2", &holder);
	assert_true(fd >= 0);
	instance_unlock(fd);
	/* kill -9 drops the lock */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(instance_lock_holder("t1"), 0);
	fd = instance_lock_wait("t1", 1000, &holder);
	assert_true(fd >= 0);
	instance_unlock(fd);
	assert_int_equal(instance_lock("bad/name", &holder), -EINVAL);
}

static void test_liveness_is_the_lock(void **state)
{
	struct state st = {.pid = 0};
	pid_t pid;

	(void)state;
	/* a live process that is not the instance's daemon: a reused pid */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	snprintf(st.instance, sizeof(st.instance), "live");
	st.pid = pid;
	assert_int_equal(state_write("live", &st), 0);
	assert_false(state_daemon_alive("live", &st));
	assert_int_equal(state_running_pid("live"), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* the lock's holder is */
	pid = child_holding("live");
	st.pid = pid;
	assert_int_equal(state_write("live", &st), 0);
	assert_true(state_daemon_alive("live", &st));
	assert_int_equal(state_running_pid("live"), pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(state_running_pid("live"), 0);
	state_remove("live");
}

static void test_mark(void **state)
{
	uint64_t a = instance_mark("default"), b = instance_mark("defaulu");
	struct ublksrv_ctrl_dev_info info = {0};

	(void)state;
	assert_true(a != 0 && a != b);
	assert_int_equal(a >> 48, 0x6258);
	assert_int_equal(b >> 48, 0x6258);
	assert_true(a == instance_mark("default"));
	instance_mark_dev(&info, "default");
	assert_true(info.ublksrv_flags == a);
}

static void test_crash_point_not_set(void **state)
{
	(void)state;
	unsetenv("BLKXLATE_CRASH_AT");
	instance_crash_point("added");
	setenv("BLKXLATE_CRASH_AT", "added-x", 1);
	instance_crash_point("added"); /* a prefix is not a match */
	setenv("BLKXLATE_CRASH_AT", "added:3", 1);
	instance_crash_point("added");
	instance_crash_point("added");
	unsetenv("BLKXLATE_CRASH_AT");
}

static void test_crash_point_kills(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("BLKXLATE_CRASH_AT", "started:2", 1);
		instance_crash_point("started");
		instance_crash_point("other");
		instance_crash_point("started");
		_exit(0);
	}
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void test_state_write_atomic(void **state)
{
	char path[4096], tmp[4200], victim[4200];
	struct state_disk disks[3] = {{.phase = STATE_ADDING, .ublk_id = 7},
				      {.phase = STATE_SERVING, .ublk_id = 3},
				      {.phase = STATE_REMOVING, .ublk_id = 5}};
	struct state st = {
		.pid = 42, .ready = true, .nr_disks = 3, .disks = disks};
	struct state back;
	struct stat sb;
	FILE *f;

	(void)state;
	assert_int_equal(state_path("w", "state", path, sizeof(path)), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	f = fopen(victim, "w");
	assert_non_null(f);
	fputs("untouched", f);
	fclose(f);
	/* a planted symlink at the temporary name is not followed */
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(state_write("w", &st), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(lstat(tmp, &sb), -1);
	f = fopen(victim, "r");
	assert_non_null(f);
	assert_non_null(fgets(tmp, sizeof(tmp), f));
	fclose(f);
	assert_string_equal(tmp, "untouched");
	assert_int_equal(state_read("w", &back), 0);
	assert_int_equal(back.pid, 42);
	assert_true(back.ready);
	assert_int_equal(back.nr_disks, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(back.disks[i].phase, disks[i].phase);
		assert_int_equal(back.disks[i].ublk_id, disks[i].ublk_id);
	}
	state_fini(&back);
	/* a truncated file is -EINVAL, not a half state */
	assert_int_equal(truncate(path, 20), 0);
	assert_int_equal(state_read("w", &back), -EINVAL);
	state_remove("w");
	assert_int_equal(state_read("w", &back), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_exclusive_and_holder),
		cmocka_unit_test(test_liveness_is_the_lock),
		cmocka_unit_test(test_mark),
		cmocka_unit_test(test_crash_point_not_set),
		cmocka_unit_test(test_crash_point_kills),
		cmocka_unit_test(test_state_write_atomic),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
