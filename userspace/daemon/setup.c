// SPDX-License-Identifier: MIT
#include "daemon/setup.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/daemon.h"
#include "daemon/instance.h"
#include "daemon/state.h"

extern char **environ;

static int run_modprobe(const char *module)
{
	char *argv[] = {"modprobe", "-q", (char *)module, NULL};
	int status;
	pid_t pid;

	if (posix_spawnp(&pid, "modprobe", NULL, NULL, argv, environ))
		return -ENOENT;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENODEV;
}

int setup_ublk(struct ublk_ctrl *ctrl, struct error_obj *err)
{
	int ret;

	if (access(UBLK_CONTROL_PATH, F_OK))
		run_modprobe("ublk_drv");
	ret = ublk_ctrl_open(ctrl);
	if (ret) {
		log_error(
			"ublk is not available: cannot open %s (%s); this kernel needs the ublk_drv module (CONFIG_BLK_DEV_UBLK)",
			UBLK_CONTROL_PATH, strerror(-ret));
		error_set(err, DAEMON_ERR_UBLK, "",
			  "ublk is not available in this kernel (%s)",
			  strerror(-ret));
		return ret;
	}
	if (!(ctrl->features & UBLK_F_CMD_IOCTL_ENCODE)) {
		log_error(
			"this kernel's ublk lacks UBLK_F_CMD_IOCTL_ENCODE (features %#llx); blkxlate needs Linux 6.5 or later",
			(unsigned long long)ctrl->features);
		error_set(err, DAEMON_ERR_UBLK, "",
			  "ublk is not available in this kernel (%s)",
			  strerror(EOPNOTSUPP));
		ublk_ctrl_close(ctrl);
		return -EOPNOTSUPP;
	}
	log_info("ublk features %#llx", (unsigned long long)ctrl->features);
	return 0;
}

int setup_dataplane(const char *want, bool zero_copy, const char *pin_dir,
		    const struct ring_ops **dp, char *reason, size_t len,
		    struct error_obj *err)
{
	const char *zc =
		zero_copy ? "zero copy (UBLK_F_AUTO_BUF_REG)" : "copy mode";
	char why[256] = "";
	int ret = -EOPNOTSUPP;

	want = want ? want : "auto";
	if (!strcmp(want, "user")) {
		*dp = &ring_user_ops;
		snprintf(reason, len,
			 "userspace io_uring loop (--dataplane=user), %s", zc);
		goto out;
	}
	if (!zero_copy)
		snprintf(why, sizeof(why),
			 "the kernel's ublk lacks UBLK_F_AUTO_BUF_REG");
	else
		ret = ring_bpf_probe(pin_dir, why, sizeof(why));
	if (!ret) {
		*dp = &ring_bpf_ops;
		snprintf(
			reason, len,
			"in-kernel io_uring BPF loop (io_uring_bpf_ops), zero copy (UBLK_F_AUTO_BUF_REG)");
		goto out;
	}
	if (!strcmp(want, "bpf")) {
		snprintf(
			reason, len,
			"--dataplane=bpf, but the BPF data path cannot run here: %s",
			why);
		log_error("%s", reason);
		error_set(err, DAEMON_ERR_DATAPATH, "", "%s", reason);
		return -EOPNOTSUPP;
	}
	*dp = &ring_user_ops;
	snprintf(
		reason, len,
		"userspace io_uring loop, %s; no BPF data path: %s",
		zero_copy
			? zc
			: "copy mode (requests are copied through server buffers)",
		why);
out:
	log_info("data path: %s", reason);
	return 0;
}

int setup_lock(const char *instance, struct error_obj *err)
{
	int holder, fd = instance_lock(instance, &holder);

	if (fd >= 0)
		return fd;
	if (fd == -EBUSY)
		error_set(
			err, DAEMON_ERR_BUSY, "",
			"instance '%s' is in use by pid %d (its daemon, or another blkxlate command on it)",
			instance, holder);
	else
		error_set(err, DAEMON_ERR_BUSY, "",
			  "cannot take the lock of instance '%s' in %s: %s",
			  instance, state_run_dir(), strerror(-fd));
	log_error("%s", err->message);
	return fd;
}

int setup_check_queues(unsigned int nr_queues, struct error_obj *err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if (!nr_queues || ncpu < 1 || nr_queues <= (unsigned long)ncpu)
		return 0;
	error_set(
		err, DAEMON_ERR_QUEUES, "--queues",
		"--queues %u: ublk makes at most one queue per CPU, and this machine has %ld",
		nr_queues, ncpu);
	log_error("%s", err->message);
	return -EINVAL;
}

int setup_nofile(const struct serving *sv, const struct ring_ops *dp,
		 struct error_obj *err)
{
	unsigned long need = 64;
	struct rlimit rl;

	for (size_t i = 0; i < sv->nr_luns; i++)
		need += sv->luns[i]->pd->nr_members + 2 +
			(unsigned long)sv->luns[i]->ld.nr_queues *
				dp->fds_per_queue;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		error_set(
			err, DAEMON_ERR_NOFILE, "",
			"serving %zu disk(s) needs about %lu open files, and the hard limit (RLIMIT_NOFILE) is %lu: raise it (ulimit -Hn, or LimitNOFILE= in the unit)",
			sv->nr_luns, need, (unsigned long)rl.rlim_max);
		log_error("%s", err->message);
		return -EMFILE;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
		unsigned long was = (unsigned long)rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (!setrlimit(RLIMIT_NOFILE, &rl) && was < need)
			log_info(
				"raised the open-file limit from %lu to %lu (about %lu needed)",
				was, (unsigned long)rl.rlim_cur, need);
	}
	return 0;
}

int setup_check_fail_io(const struct ublk_ctrl *ctrl, bool want,
			struct error_obj *err)
{
	if (!want || (ctrl->features & UBLK_F_USER_RECOVERY_FAIL_IO))
		return 0;
	error_set(
		err, DAEMON_ERR_UBLK, "",
		"--while-down fail: this kernel's ublk lacks UBLK_F_USER_RECOVERY_FAIL_IO");
	log_error("%s", err->message);
	return -EOPNOTSUPP;
}

void *setup_map_stats(int fd, size_t entries, size_t entry_size,
		      struct mapped *m)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	m->len =
		(entries * entry_size + (size_t)page - 1) & ~((size_t)page - 1);
	p = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m->p = p == MAP_FAILED ? NULL : p;
	return m->p;
}

void setup_unmap_stats(struct mapped *m)
{
	if (m->p)
		munmap(m->p, m->len);
	m->p = NULL;
}
