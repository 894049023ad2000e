// SPDX-License-Identifier: MIT
/* targets: an instance's LUNs and members by name and index, for `stats`
 * and `trace`. */
#include <bpf/bpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/guid.h"
#include "cli/cli.h"
#include "cli/targets.h"
#include "daemon/state.h"

volatile sig_atomic_t targets_stop;

static void on_signal(int sig)
{
	(void)sig;
	targets_stop = 1;
}

void targets_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

double targets_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --lun CTRL:LOC[:CHANNEL] -> disk index through the luns map. */
int targets_parse_lun(const struct maps *m, const char *arg, uint32_t *disk)
{
	struct blkx_lun_key key = {0};
	struct blkx_lun lun;
	char ctrl[64];
	const char *colon = strchr(arg, ':');
	unsigned int loc = 0, ch = 0;
	struct guid g;

	if (!colon || (size_t)(colon - arg) >= sizeof(ctrl))
		goto bad;
	memcpy(ctrl, arg, (size_t)(colon - arg));
	ctrl[colon - arg] = '\0';
	if (guid_parse(ctrl, &g) || sscanf(colon + 1, "%u:%u", &loc, &ch) < 1)
		goto bad;
	guid_format(&g, key.controller);
	key.location = loc;
	key.channel = ch;
	if (bpf_map_lookup_elem(m->luns_fd, &key, &lun)) {
		cli_error("--lun %s: no such LUN in this instance", arg);
		return -ENOENT;
	}
	*disk = lun.disk;
	return 0;
bad:
	cli_error("--lun: '%s' is not CONTROLLER_GUID:LOCATION[:CHANNEL]", arg);
	return -EINVAL;
}

/* Names of every target (LUNs, then their members) from the maps. */
int targets_load_names(const struct maps *m, uint32_t nr_disks,
		       uint32_t nr_members, struct target_name *names)
{
	static const char *const proto[] = {"SCSI", "IDE", "NVME"};
	struct blkx_lun_key key, next;
	struct blkx_lun lun;
	void *prev = NULL;

	/* unused slots keep an empty label and are not shown */
	for (uint32_t i = 0; i < nr_disks + nr_members; i++)
		names[i].label[0] = '\0';
	while (!bpf_map_get_next_key(m->luns_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->luns_fd, &key, &lun) ||
		    lun.disk >= nr_disks)
			continue;
		snprintf(names[lun.disk].label, sizeof(names[lun.disk].label),
			 "%s %s %u",
			 lun.protocol < 3 ? proto[lun.protocol] : "?",
			 key.controller, key.location);
		names[lun.disk].disk = lun.disk;
	}
	for (uint32_t mi = 0; mi < nr_members; mi++) {
		struct target_name *t = &names[nr_disks + mi];
		struct blkx_member mem = {0};

		if (bpf_map_lookup_elem(m->members_fd, &mi, &mem) ||
		    !mem.device[0])
			continue;
		snprintf(t->label, sizeof(t->label), "  member %u of LUN above",
			 mem.index);
		snprintf(t->device, sizeof(t->device), "%s", mem.device);
		t->disk = mem.disk;
		t->mi = mi;
		t->member = true;
	}
	return 0;
}

/* The LUN's device: the stable name is in the state file; the kernel's
 * name is enough here. */
void targets_lun_devices(uint32_t nr_disks, struct target_name *names,
			 const char *instance)
{
	struct state st;

	if (state_read(instance, &st))
		return;
	for (size_t i = 0; i < st.nr_disks; i++) {
		const struct state_disk *sd = &st.disks[i];

		if (sd->disk < nr_disks)
			snprintf(names[sd->disk].device,
				 sizeof(names[sd->disk].device), "%s",
				 sd->device);
	}
	state_fini(&st);
}

bool targets_wanted(const uint32_t *filter, int nf, uint32_t disk)
{
	for (int i = 0; i < nf; i++)
		if (filter[i] == disk)
			return true;
	return nf == 0;
}

/* meta's disk and member counts */
int targets_instance_size(const struct maps *m, uint32_t *nd, uint32_t *nm)
{
	struct blkx_meta meta;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(m->meta_fd, &zero, &meta))
		return -errno;
	/* io_hist is laid out by slots: disks, then members */
	*nd = meta.disk_slots;
	*nm = meta.member_slots;
	return 0;
}
