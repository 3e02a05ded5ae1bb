// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_soak_test: many L2 round trips and many nested VMs, and the host
 * kernel's memory before and after (issue 13).
 *
 * "free" is the buddy allocator's free pages plus those its per-CPU lists
 * hold (/proc/zoneinfo), after dropping the page cache.
 *
 * 1. round_trips: L2 runs a loop of eleven exiting instructions (CPUID,
 *    VMCALL, OUT, RDMSR through the MSR bitmap, MOV to CR3, RDTSC, INT3
 *    through the exception bitmap, MOV from DR7, PAUSE, INVLPG, and a MOV
 *    to CR8 of 0 under "use TPR shadow": the TPR-below-threshold exit,
 *    SDM 29.1.2, with TPR threshold 1), and L1 handles each exit (checking
 *    that it is the next one of the loop; after exit 43 it sets VTPR to
 *    10H again, 26.2.1.1) and resumes L2, N times (-n N, default 10000).
 *    Every entry maps L1's pages that vmcs02 names and every exit releases
 *    them: the virtual-APIC page, and the APIC-access page where L1 is
 *    offered "virtualize APIC accesses" (L2 does not touch it).  The host reads
 *    /proc/meminfo (after dropping the page cache) before the VM, after a
 *    warm-up of 2000 round trips, after the N round trips and after the
 *    VM is freed: the kernel's free memory must not shrink by more than
 *    512 KiB, its unreclaimable slab not grow by more than 128 KiB, between
 *    the warm-up and the end (a leak per round trip of a pinned page, a
 *    vmcs02, a map or a slab object would), nor either by more than
 *    512 KiB from before the VM to after it.
 * 2. vm_cycles: K VMs (-k K, default 32) each enter VMX operation, launch
 *    L2, run a few round trips and are freed while L2 runs (L2 exits to
 *    userspace through an I/O port L1 does not intercept); the same
 *    measurements from after the first of them to after the last, within
 *    64 KiB and 32 KiB plus 2 KiB per VM (half a page per VM).
 *
 * Every N/16 round trips L1 reports its progress; the host prints the
 * wall time per round trip.  make soak N=... runs it alone in the emulated
 * host with stock and ours.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

struct nvmx_env {
	bool strict;
	u64 n;			/* round trips after the warm-up */
	u32 cycle_vm;		/* a VM of vm_cycles: free it with L2 running */
	u64 vapic_gva, vapic_gpa;	/* the virtual-APIC page */
	u64 access_gpa;			/* the APIC-access page */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

#define WARMUP		2000
#define PORT_OUT	0x80	/* intercepted by L1 */
#define PORT_PASS	0x1234	/* not intercepted in a vm_cycles VM */
#define MSR_PAT		0x277

enum { MSG_MEASURE = NVMX_MSG_EXITS + 16, MSG_PROGRESS, MSG_BAD_EXIT };

/* The exits of L2's loop, in order (SDM Vol. 3C Appendix C) */
static const u32 loop_exits[] = {
	10,	/* CPUID */
	18,	/* VMCALL */
	30,	/* I/O instruction: unconditional I/O exiting */
	31,	/* RDMSR: MSR bitmap */
	28,	/* control-register access: CR3-load exiting */
	16,	/* RDTSC */
	0,	/* exception: INT3 in the exception bitmap */
	29,	/* MOV DR */
	40,	/* PAUSE */
	14,	/* INVLPG */
	43,	/* TPR below threshold: MOV to CR8 (trap-like, 27.1) */
};

#define EXIT_TPR_BELOW_THRESHOLD	43
#define VTPR				0x80	/* in the virtual-APIC page */
#define VTPR_ABOVE			0x10	/* class 1, TPR threshold 1 */

#define NR_LOOP		ARRAY_SIZE(loop_exits)

asm(".pushsection .text\n"
	"l2_soak:\n\t"
	"xor %eax, %eax\n\t"
	"cpuid\n\t"
	"vmcall\n\t"
	"out %al, $" NVMX_XSTR(PORT_OUT) "\n\t"
	"mov $" NVMX_XSTR(MSR_PAT) ", %ecx\n\t"
	"rdmsr\n\t"
	"mov %cr3, %rax\n\t"
	"mov %rax, %cr3\n\t"
	"rdtsc\n\t"
	"int3\n\t"
	"mov %dr7, %rax\n\t"
	"pause\n\t"
	"invlpg (%rsp)\n\t"
	"xor %eax, %eax\n\t"
	"mov %rax, %cr8\n\t"
	"jmp l2_soak\n"
	"l2_pass:\n\t"
	"mov $" NVMX_XSTR(PORT_PASS) ", %edx\n\t"
	"in %dx, %al\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection");

u64 soak_round_trips;

/* VTPR 10H, above TPR threshold 1 (26.2.1.1 at the next entry) */
static void vtpr_above(void)
{
	*(u32 *)(nvmx_env.vapic_gva + VTPR) = VTPR_ABOVE;
}

/*
 * "use TPR shadow" with the virtual-APIC page (VTPR 10H, TPR threshold 1:
 * 26.2.1.1 wants threshold bits 3:0 no higher than VTPR bits 7:4) and, if
 * L1 is offered it, "virtualize APIC accesses" with the APIC-access page.
 */
static void setup_apic_pages(void)
{
	vtpr_above();
	GUEST_ASSERT(ctl_update(CPU_BASED_VM_EXEC_CONTROL,
				MSR_IA32_VMX_PROCBASED_CTLS,
				CPU_BASED_TPR_SHADOW, 0));
	vmwrite(VIRTUAL_APIC_PAGE_ADDR, nvmx_env.vapic_gpa);
	vmwrite(TPR_THRESHOLD, 1);
	if (!(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32 &
	      CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ||
	    !(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32 &
	      SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES))
		return;
	GUEST_ASSERT(ctl_update(CPU_BASED_VM_EXEC_CONTROL,
				MSR_IA32_VMX_PROCBASED_CTLS,
				CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, 0));
	vmwrite(SECONDARY_VM_EXEC_CONTROL,
		vmreadz(SECONDARY_VM_EXEC_CONTROL) |
		SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES);
	vmwrite(APIC_ACCESS_ADDR, nvmx_env.access_gpa);
}

static void setup_controls(struct vmx_pages *vmx)
{
	u8 *msr_bitmap = vmx->msr;

	GUEST_ASSERT(ctl_update(CPU_BASED_VM_EXEC_CONTROL,
				MSR_IA32_VMX_PROCBASED_CTLS,
				CPU_BASED_UNCOND_IO_EXITING |
				CPU_BASED_USE_MSR_BITMAPS |
				CPU_BASED_CR3_LOAD_EXITING |
				CPU_BASED_RDTSC_EXITING |
				CPU_BASED_MOV_DR_EXITING |
				CPU_BASED_PAUSE_EXITING |
				CPU_BASED_INVLPG_EXITING, 0));
	memset(msr_bitmap, 0, 4096);
	msr_bitmap[MSR_PAT / 8] |= BIT(MSR_PAT % 8);	/* read bitmap, low */
	vmwrite(MSR_BITMAP, vmx->msr_gpa);
	vmwrite(EXCEPTION_BITMAP, BIT(BP_VECTOR));
	setup_apic_pages();
}

/* @n round trips of L2's loop; false after an exit out of order */
static bool round_trips(u64 n, u32 *seq)
{
	u64 i;
	u32 reason;

	for (i = 0; i < n; i++) {
		reason = vmreadz(VM_EXIT_REASON);
		if (reason != loop_exits[*seq]) {
			ucall(UCALL_SYNC, 4, MSG_BAD_EXIT, *seq, reason,
			      vmreadz(GUEST_RIP));
			return false;
		}
		*seq = (*seq + 1) % NR_LOOP;
		soak_round_trips++;
		if (reason == EXIT_TPR_BELOW_THRESHOLD)
			vtpr_above();
		/* that exit comes after its instruction, the others before */
		if (!nvmx_l2_resume(reason != EXIT_TPR_BELOW_THRESHOLD))
			return false;
		if (nvmx_env.n >= 16 && !(soak_round_trips % (nvmx_env.n / 16)))
			ucall(UCALL_SYNC, 2, MSG_PROGRESS, soak_round_trips);
	}
	return true;
}

void l1_guest_code(struct vmx_pages *vmx)
{
	u32 seq = 0;

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, NULL, &l2_stack[ARRAY_SIZE(l2_stack)]);
	if (nvmx_env.cycle_vm) {
		/* A few round trips, then L2 exits to userspace, for good */
		l2_setup(ASM_LABEL(l2_soak));
		setup_controls(vmx);
		GUEST_ASSERT(l2_launch());
		GUEST_ASSERT(round_trips(3 * NR_LOOP - 1, &seq));
		vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			vmreadz(CPU_BASED_VM_EXEC_CONTROL) &
			~CPU_BASED_UNCOND_IO_EXITING);
		vmwrite(GUEST_RIP, ASM_LABEL(l2_pass));
		/* the last exit, not handled, was the loop's exit 43 */
		vtpr_above();
		nvmx_l2_vmresume();
		GUEST_ASSERT(0);
	}
	l2_setup(ASM_LABEL(l2_soak));
	setup_controls(vmx);
	GUEST_ASSERT(l2_launch());
	GUEST_ASSERT(round_trips(WARMUP, &seq));
	ucall(UCALL_SYNC, 2, MSG_MEASURE, 1);
	GUEST_ASSERT(round_trips(nvmx_env.n, &seq));
	ucall(UCALL_SYNC, 2, MSG_MEASURE, 2);
	GUEST_DONE();
}

/* ---------------------------------------------------------------------- */
/* Host                                                                     */

struct mem {
	long free, sunreclaim, pagetables, kstack, percpu;	/* KiB */
};

/*
 * Free pages, in KiB, from /proc/zoneinfo: each zone's "pages free" and
 * the pages its per-CPU lists hold ("count:"), which MemFree does not
 * count: a few MB of allocations and frees go through those lists without
 * moving MemFree at all.
 */
static long zoneinfo_free_kb(void)
{
	char line[256];
	long pages = 0, v;
	FILE *f = fopen("/proc/zoneinfo", "r");

	TEST_ASSERT(f, "no /proc/zoneinfo");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " pages free %ld", &v) == 1 ||
		    sscanf(line, " count: %ld", &v) == 1)
			pages += v;
	}
	fclose(f);
	return pages * 4;
}

static long meminfo_field(const char *buf, const char *name)
{
	const char *p = strstr(buf, name);

	return p ? strtol(p + strlen(name), NULL, 10) : -1;
}

/* /proc/meminfo after dropping the page cache and reclaimable slab */
static struct mem measure(void)
{
	char buf[8192];
	struct mem m;
	size_t len;
	FILE *f;

	sync();
	f = fopen("/proc/sys/vm/drop_caches", "w");
	if (f) {
		fputs("3\n", f);
		fclose(f);
	}
	f = fopen("/proc/meminfo", "r");
	TEST_ASSERT(f, "no /proc/meminfo");
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = 0;
	fclose(f);
	m.free = zoneinfo_free_kb();
	m.sunreclaim = meminfo_field(buf, "SUnreclaim:");
	m.pagetables = meminfo_field(buf, "PageTables:");
	m.kstack = meminfo_field(buf, "KernelStack:");
	m.percpu = meminfo_field(buf, "Percpu:");
	return m;
}

static void print_mem(const char *when, struct mem m)
{
	ksft_print_msg("meminfo %-22s free %7ld kB, SUnreclaim %6ld kB,\n",
		       when, m.free, m.sunreclaim);
	ksft_print_msg("meminfo %-22s PageTables %5ld kB, KernelStack %5ld kB, Percpu %5ld kB\n",
		       when, m.pagetables, m.kstack, m.percpu);
}

/*
 * The kernel's memory from @a to @b: at most @free_kb less free memory and
 * @slab_kb more unreclaimable slab.  Measured, the same with stock and
 * nvmx (2026-12-03, N = 1000000, K = 64): across the round trips with the
 * VM alive +4 kB free and +20 kB slab at most; over one VM's life, about
 * -230 kB free and +190 kB slab (partial slabs SLUB keeps, kvm.ko's
 * caches); about 1 kB of each per VM over vm_cycles.  The bounds: far below
 * a byte per round trip of a million; for vm_cycles 2 KiB per VM, half a
 * page, where the smallest nested structure a VM could leak (vmcs02, the
 * cached vmcs12, the shadow VMCS) is a page.
 */
#define RT_FREE_KB	512
#define RT_SLAB_KB	128
#define LIFE_FREE_KB	512
#define LIFE_SLAB_KB	512
#define VM_FREE_KB	64
#define VM_SLAB_KB	32
#define VM_PER_VM_KB	2

static bool no_leak(const char *what, struct mem a, struct mem b,
		    long free_kb, long slab_kb)
{
	long lost = a.free - b.free, slab = b.sunreclaim - a.sunreclaim;
	bool ok = lost <= free_kb && slab <= slab_kb;

	ksft_print_msg("%s: free %+ld kB, SUnreclaim %+ld kB, PageTables %+ld kB%s\n",
		       what, b.free - a.free, slab, b.pagetables - a.pagetables,
		       ok ? "" : ": LEAK");
	return ok;
}

static struct mem mem_before, mem_warm, mem_end;
static struct timespec t_warm;
static u64 progress_last;

static double since(struct timespec t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - t0.tv_sec + (now.tv_nsec - t0.tv_nsec) / 1e9;
}

static void soak_message(struct ucall *uc)
{
	double s;

	switch (uc->args[0]) {
	case MSG_MEASURE:
		if (uc->args[1] == 1) {
			mem_warm = measure();
			print_mem("after the warm-up", mem_warm);
			clock_gettime(CLOCK_MONOTONIC, &t_warm);
		} else {
			s = since(t_warm);
			mem_end = measure();
			print_mem("after the round trips", mem_end);
			ksft_print_msg("%lu round trips in %.1f s (emulated clock), %.1f us each\n",
				       nvmx_env.n, s, 1e6 * s / nvmx_env.n);
		}
		break;
	case MSG_PROGRESS:
		progress_last = uc->args[1];
		ksft_print_msg("progress: %lu round trips, %.1f s\n",
			       uc->args[1], since(t_warm));
		break;
	case MSG_BAD_EXIT:
		ksft_print_msg("exit %lu of the loop: reason %lu at RIP 0x%lx, expected %u\n",
			       uc->args[1], uc->args[2], uc->args[3],
			       loop_exits[uc->args[1]]);
		break;
	default:
		nvmx_host_message(uc, "round_trips");
	}
}

/* The pages of L1's that vmcs12 names, in a new VM @vm */
static void host_alloc_apic_pages(struct kvm_vm *vm)
{
	nvmx_env.vapic_gva = vm_vaddr_alloc_page(vm);
	nvmx_env.vapic_gpa = addr_gva2gpa(vm, nvmx_env.vapic_gva);
	nvmx_env.access_gpa = addr_gva2gpa(vm, vm_vaddr_alloc_page(vm));
}

static bool test_round_trips(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	struct mem after;
	bool ok = true;

	mem_before = measure();
	print_mem("before the VM", mem_before);
	vm = nvmx_host_create_vm(&vcpu, NULL);
	host_alloc_apic_pages(vm);
	sync_global_to_guest(vm, nvmx_env);
	for (;;) {
		u64 cmd = nvmx_run_to_ucall(vcpu, &uc);

		if (cmd == UCALL_DONE)
			break;
		if (cmd == UCALL_ABORT) {
			REPORT_GUEST_ASSERT_2(uc, "values: %#lx, %#lx");
			return false;
		}
		TEST_ASSERT(cmd == UCALL_SYNC, "unexpected ucall %lu", cmd);
		if (uc.args[0] == MSG_BAD_EXIT)
			ok = false;
		soak_message(&uc);
	}
	kvm_vm_free(vm);
	after = measure();
	print_mem("after the VM is freed", after);
	ok &= no_leak("round trips (warm-up to end, VM alive)", mem_warm,
		      mem_end, RT_FREE_KB, RT_SLAB_KB);
	ok &= no_leak("the VM's life (before to after)", mem_before, after,
		      LIFE_FREE_KB, LIFE_SLAB_KB);
	return ok;
}

/* One VM of vm_cycles: freed while L2 waits on its port */
static void cycle_one(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = nvmx_host_create_vm(&vcpu, NULL);
	host_alloc_apic_pages(vm);
	nvmx_env.cycle_vm = 1;
	sync_global_to_guest(vm, nvmx_env);
	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO &&
		    vcpu->run->io.port == PORT_PASS,
		    "expected L2's IN from port 0x%x, got exit reason %u port 0x%x",
		    PORT_PASS, vcpu->run->exit_reason, vcpu->run->io.port);
	kvm_vm_free(vm);
}

static bool test_vm_cycles(u32 k)
{
	struct mem first, last;
	u32 i;

	cycle_one();
	first = measure();
	print_mem("after the first VM", first);
	for (i = 1; i < k; i++)
		cycle_one();
	last = measure();
	print_mem("after the last VM", last);
	return no_leak("VMs freed with L2 running (first to last)", first,
		       last, VM_FREE_KB + VM_PER_VM_KB * (k - 1),
		       VM_SLAB_KB + VM_PER_VM_KB * (k - 1));
}

int main(int argc, char *argv[])
{
	u32 k = 32;
	int opt;

	nvmx_env.n = 10000;
	while ((opt = getopt(argc, argv, "n:k:")) != -1) {
		switch (opt) {
		case 'n':
			nvmx_env.n = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			k = strtoul(optarg, NULL, 0);
			break;
		default:
			printf("usage: %s [-n ROUND_TRIPS] [-k VMS]\n", argv[0]);
			exit(KSFT_FAIL);
		}
	}
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	ksft_print_header();
	ksft_set_plan(2);
	ksft_print_msg("%lu round trips after %u of warm-up, %u VMs\n",
		       nvmx_env.n, WARMUP, k);
	ksft_test_result(test_round_trips(), "round_trips\n");
	ksft_test_result(test_vm_cycles(k), "vm_cycles\n");
	ksft_finished();
	return 0;
}
