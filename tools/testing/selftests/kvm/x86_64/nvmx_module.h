/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side helpers shared by every nvmx selftest: which kvm_intel a test
 * runs against, and running L1 to its end.
 */
#ifndef SELFTEST_KVM_NVMX_MODULE_H
#define SELFTEST_KVM_NVMX_MODULE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"

/*
 * Whether the kvm_intel under test is nvmx's: its module version (modinfo,
 * /sys/module/kvm_intel/version) starts with "nvmx"; the stock module has
 * none.  A test may hold nvmx to the SDM where it reports a known stock
 * deviation as XFAIL.
 */
static inline bool nvmx_host_module_is_nvmx(void)
{
	char version[64] = "";
	FILE *f = fopen("/sys/module/kvm_intel/version", "r");

	if (f) {
		if (!fgets(version, sizeof(version), f))
			version[0] = 0;
		fclose(f);
	}
	return !strncmp(version, "nvmx", 4);
}

/*
 * The vCPU as the VMM reads it, where nested VMX can change it: the
 * registers, the system registers, the debug registers, the events, and
 * the MSRs VM entry and VM exit load (SDM 26.3.2.1, 27.5.1) or a VM-exit
 * MSR-load list may name.  The events are copied field by field: KVM
 * leaves some bytes of its answer unwritten.
 */
static const u32 nvmx_snapshot_msrs[] = {
	MSR_EFER, MSR_IA32_CR_PAT, MSR_IA32_DEBUGCTLMSR, MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_KERNEL_GS_BASE,
	MSR_TSC_AUX,
};

#define NVMX_SNAPSHOT_NR_MSRS	ARRAY_SIZE(nvmx_snapshot_msrs)

struct nvmx_vcpu_snapshot {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs debugregs;
	struct kvm_vcpu_events events;
	u64 msrs[NVMX_SNAPSHOT_NR_MSRS];
};

static inline void nvmx_vcpu_events_get(struct kvm_vcpu *vcpu,
					struct kvm_vcpu_events *e)
{
	struct kvm_vcpu_events raw;

	vcpu_events_get(vcpu, &raw);
	memset(e, 0, sizeof(*e));
	e->exception.injected = raw.exception.injected;
	e->exception.nr = raw.exception.nr;
	e->exception.has_error_code = raw.exception.has_error_code;
	e->exception.pending = raw.exception.pending;
	e->exception.error_code = raw.exception.error_code;
	e->interrupt.injected = raw.interrupt.injected;
	e->interrupt.nr = raw.interrupt.nr;
	e->interrupt.soft = raw.interrupt.soft;
	e->interrupt.shadow = raw.interrupt.shadow;
	e->nmi.injected = raw.nmi.injected;
	e->nmi.pending = raw.nmi.pending;
	e->nmi.masked = raw.nmi.masked;
	e->flags = raw.flags;
	e->smi.smm = raw.smi.smm;
	e->smi.pending = raw.smi.pending;
	e->smi.smm_inside_nmi = raw.smi.smm_inside_nmi;
	e->smi.latched_init = raw.smi.latched_init;
	if (raw.flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
		e->triple_fault.pending = raw.triple_fault.pending;
	if (raw.flags & KVM_VCPUEVENT_VALID_PAYLOAD) {
		e->exception_has_payload = raw.exception_has_payload;
		e->exception_payload = raw.exception_payload;
	}
}

static inline void nvmx_vcpu_snapshot_take(struct kvm_vcpu *vcpu,
					   struct nvmx_vcpu_snapshot *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	vcpu_regs_get(vcpu, &s->regs);
	vcpu_sregs_get(vcpu, &s->sregs);
	vcpu_debugregs_get(vcpu, &s->debugregs);
	nvmx_vcpu_events_get(vcpu, &s->events);
	for (i = 0; i < NVMX_SNAPSHOT_NR_MSRS; i++)
		s->msrs[i] = vcpu_get_msr(vcpu, nvmx_snapshot_msrs[i]);
}

/* Where @a and @b first differ, as "KVM_GET_..." and the 8 bytes there. */
static inline bool nvmx_snapshot_part_differs(const char *part, const void *a,
					      const void *b, size_t size,
					      const char *what)
{
	u64 va = 0, vb = 0;
	size_t i;

	for (i = 0; i < size; i++)
		if (((const u8 *)a)[i] != ((const u8 *)b)[i])
			break;
	if (i == size)
		return false;
	i &= ~(size_t)7;
	memcpy(&va, (const u8 *)a + i, size - i < 8 ? size - i : 8);
	memcpy(&vb, (const u8 *)b + i, size - i < 8 ? size - i : 8);
	ksft_print_msg("%s: %s byte %zu: 0x%lx, was 0x%lx\n", what, part, i,
		       vb, va);
	return true;
}

/*
 * Does the vCPU differ from snapshot @s?  Each difference is printed,
 * prefixed with @what.
 */
static inline bool nvmx_vcpu_snapshot_differs(struct kvm_vcpu *vcpu,
					      const struct nvmx_vcpu_snapshot *s,
					      const char *what)
{
	struct nvmx_vcpu_snapshot now;
	bool differs = false;
	unsigned int i;

	nvmx_vcpu_snapshot_take(vcpu, &now);
	differs |= nvmx_snapshot_part_differs("KVM_GET_REGS", &s->regs,
					      &now.regs, sizeof(now.regs), what);
	differs |= nvmx_snapshot_part_differs("KVM_GET_SREGS", &s->sregs,
					      &now.sregs, sizeof(now.sregs),
					      what);
	differs |= nvmx_snapshot_part_differs("KVM_GET_DEBUGREGS",
					      &s->debugregs, &now.debugregs,
					      sizeof(now.debugregs), what);
	differs |= nvmx_snapshot_part_differs("KVM_GET_VCPU_EVENTS",
					      &s->events, &now.events,
					      sizeof(now.events), what);
	for (i = 0; i < NVMX_SNAPSHOT_NR_MSRS; i++) {
		if (now.msrs[i] == s->msrs[i])
			continue;
		ksft_print_msg("%s: MSR 0x%x: 0x%lx, was 0x%lx\n", what,
			       nvmx_snapshot_msrs[i], now.msrs[i], s->msrs[i]);
		differs = true;
	}
	return differs;
}

/* The vCPU as in snapshot @s again (its nested state is the caller's). */
static inline void nvmx_vcpu_snapshot_put(struct kvm_vcpu *vcpu,
					  struct nvmx_vcpu_snapshot *s)
{
	unsigned int i;

	vcpu_sregs_set(vcpu, &s->sregs);
	for (i = 0; i < NVMX_SNAPSHOT_NR_MSRS; i++)
		vcpu_set_msr(vcpu, nvmx_snapshot_msrs[i], s->msrs[i]);
	vcpu_debugregs_set(vcpu, &s->debugregs);
	vcpu_events_set(vcpu, &s->events);
	vcpu_regs_set(vcpu, &s->regs);
}

#define NVMX_TRACEFS		"/sys/kernel/tracing"

/* Write @text into tracefs file @file, opened with O_WRONLY | @flags. */
static inline bool nvmx_tracefs_write(const char *file, const char *text,
				      int flags)
{
	char path[256];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), NVMX_TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | flags);
	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/*
 * The vCPU statistic @name from KVM's binary stats (KVM_GET_STATS_FD), e.g.
 * "exits": the hardware VM exits KVM handled for the vCPU, whichever of L1
 * and L2 was running.
 */
static inline u64 nvmx_vcpu_stat(struct kvm_vcpu *vcpu, const char *name)
{
	int fd = vcpu_get_stats_fd(vcpu);
	struct kvm_stats_header header;
	struct kvm_stats_desc *descs, *desc;
	u64 value = 0;
	bool found = false;
	u32 i;

	read_stats_header(fd, &header);
	descs = read_stats_descriptors(fd, &header);
	for (i = 0; i < header.num_desc && !found; i++) {
		desc = get_stats_descriptor(descs, i, &header);
		if (strcmp(desc->name, name))
			continue;
		read_stat_data(fd, &header, desc, &value, 1);
		found = true;
	}
	free(descs);
	close(fd);
	TEST_ASSERT(found, "no vCPU statistic \"%s\"", name);
	return value;
}

/* Run @vcpu to its next ucall into @uc; any other stop fails the test. */
static inline u64 nvmx_run_to_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
		    "L1 stopped with exit reason %u (%s)",
		    vcpu->run->exit_reason,
		    exit_reason_str(vcpu->run->exit_reason));
	return get_ucall(vcpu, uc);
}

/*
 * Run @vcpu until L1 reports GUEST_DONE; a guest assertion (with its two
 * values) or any other stop fails the test.
 */
static inline void nvmx_run_l1_to_done(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	switch (nvmx_run_to_ucall(vcpu, &uc)) {
	case UCALL_DONE:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT_2(uc, "values: %#lx, %#lx");
		break;
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
	}
}

/*
 * @cmd, the ucall of L1's read into @uc: true for a GUEST_SYNC, false for
 * GUEST_DONE; a guest assertion (with its two values) or any other ucall
 * fails the test.
 */
static inline bool nvmx_sync_or_done(u64 cmd, struct ucall *uc)
{
	switch (cmd) {
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT_2(*uc, "values 0x%lx 0x%lx");
		break;
	case UCALL_SYNC:
		return true;
	case UCALL_DONE:
		return false;
	default:
		TEST_FAIL("unexpected ucall %lu", uc->cmd);
	}
	return false;
}

/* As nvmx_sync_or_done(), but only a GUEST_SYNC passes: its stage */
static inline u64 nvmx_sync(u64 cmd, struct ucall *uc)
{
	if (!nvmx_sync_or_done(cmd, uc))
		TEST_FAIL("unexpected ucall %lu", uc->cmd);
	return uc->args[1];
}

/* Run @vcpu to its next GUEST_SYNC into @uc; returns the stage it names */
static inline u64 nvmx_run_to_sync(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	return nvmx_sync(nvmx_run_to_ucall(vcpu, uc), uc);
}

/* An SMI made pending for @vcpu, as KVM_SET_VCPU_EVENTS sets one. */
static inline void nvmx_inject_smi(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_events events;

	vcpu_events_get(vcpu, &events);
	events.smi.pending = 1;
	events.flags |= KVM_VCPUEVENT_VALID_SMM;
	vcpu_events_set(vcpu, &events);
}

#endif /* SELFTEST_KVM_NVMX_MODULE_H */
