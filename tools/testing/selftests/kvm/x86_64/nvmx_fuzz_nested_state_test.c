// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_fuzz_nested_state_test: KVM_SET_NESTED_STATE from a hostile VMM
 * (issue 13), seeded.
 *
 * L1 walks through the situations a VMM saves a vCPU in, and at each the
 * host takes the real state (KVM_GET_NESTED_STATE) as the base of a stage:
 *   outside   before VMXON;
 *   root      in VMX root operation, no current VMCS;
 *   smm-root  in SMM entered from VMX root operation (an SMI the host
 *             injects; the handler in SMRAM reports and does RSM);
 *   vmcs      in VMX root operation with a current VMCS, vmcs12 ready for
 *             L2 (VMCS shadowing for L2 where L1 is offered it);
 *   l2        in L2 (with the shadow VMCS where there is one);
 *   pending   in L2 with KVM_STATE_NESTED_RUN_PENDING (the l2 state set
 *             with the flag, read back);
 *   smm-l2    in SMM entered from L2.
 * Each stage feeds KVM_SET_NESTED_STATE, on the vCPU in that situation,
 * with random blobs of random sizes and with mutations of the base: the
 * header (format, flags, size, VMXON and vmcs12 pointers unaligned, beyond
 * MAXPHYADDR, outside L1's memory, equal, SMM flags, VMX flags) and
 * vmcs12's and the shadow VMCS's fields, whose mutators come from the one
 * vmcs12 field table (nvmx_fuzz_vmcs12.h, which the vmcs12 fuzzer
 * shares), plus raw bytes anywhere in them.  Each SET must return 0 or
 * EINVAL (api.rst; x86.c and the module give no other error for a
 * readable buffer), and a refused state must leave the nested state as it
 * was, byte for byte.  An accepted state must run: KVM_RUN goes on until
 * L2 or L1 reports (L2 and L1 spin on an OUT of their own, vmcs12's host
 * RIP is L1's), or fails the way a processor would (an exit to L1, L1's
 * VMfail, a shutdown of L1 such as a VMX abort); KVM_EXIT_FAIL_ENTRY,
 * KVM_EXIT_INTERNAL_ERROR, an error of KVM_RUN or no progress within a
 * second are not.  After each run the host puts the vCPU back, and the
 * pages of L1's memory the state let KVM or the processor write.  GET into buffers too small must
 * fail with E2BIG and say the size.  No kernel WARN, BUG or Oops either:
 * the emulated host's judge reads the kernel log.
 *
 * With stock 6.1 the test reports instead of failing (the known
 * deviations of nvmx_nested_state_test show here too), and accepted states
 * with a pending entry, or set in the pending stage, are not run: stock
 * WARNs on some (stock_would_warn()); they are counted as "not run".
 *
 * Usage: nvmx_fuzz_nested_state_test [-s SEED] [-i ITERATIONS_PER_STAGE]
 *        [-v] [-p]   (-v prints every iteration, -p the progress on the
 *        kernel log)
 * Per stage it prints the counts of each outcome and a digest of them:
 * two runs with the same seed (stock and ours) differ in a stage exactly
 * where the digests differ.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

struct nvmx_env {
	bool strict;
};

struct nvmx_env nvmx_env;

#include <nvmx/vmcs12_table.h>

#include "nvmx_selftest.h"
#include "nvmx_fuzz_vmcs12.h"

#define NS_DEFAULT_SEED		0x6e766d78ull	/* "nvmx" */
#define NS_DEFAULT_ITERS	600		/* per stage */
#define NS_MAX_MUT		3
#define NS_BUF			16384
#define HDR_SIZE		((u32)sizeof(struct kvm_nested_state))
#define VMCS_SIZE		KVM_STATE_NESTED_VMX_VMCS_SIZE

/* L2's and L1's pads, the SMI handler: each spins on an OUT of its own */
#define PORT_L2			0x5e0
#define PORT_L1			0x5e1	/* vmcs12's host RIP: an exit to L1 */
#define PORT_VMFAIL		0x5e2	/* L1's VMLAUNCH failed */
#define PORT_SMM		0x5e3
#define PORT_UCALL		0x1000	/* the library's ucall (6.1) */

#define SMRAM_GPA		0x1000000
#define SMRAM_MEMSLOT		((1 << 16) | 1)
#define SMRAM_PAGES		16

#define OFF_EXIT_REASON		((u32)offsetof(struct vmcs12, vm_exit_reason))

enum { S_OUTSIDE = 1, S_ROOT, S_VMCS };

/* ---------------------------------------------------------------------- */
/* L1 and L2                                                                */

static u64 l1_pad_stack[8] __aligned(16);

asm(".pushsection .text\n"
	"ns_l2_pad:\n\t"
	"mov $" NVMX_XSTR(PORT_L2) ", %edx\n"
	"1:\tout %al, %dx\n\t"
	"jmp 1b\n"
	"ns_l1_pad:\n\t"
	"mov $" NVMX_XSTR(PORT_L1) ", %edx\n"
	"2:\tout %al, %dx\n\t"
	"jmp 2b\n"
	"ns_l1_launch:\n\t"
	"vmlaunch\n\t"
	"mov $" NVMX_XSTR(PORT_VMFAIL) ", %edx\n"
	"3:\tout %al, %dx\n\t"
	"jmp 3b\n"
	".popsection");

/* SDM A.3.3: "VMCS shadowing" may be 1 */
static bool l1_offered_shadowing(void)
{
	return (rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32 &
		CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	       (rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32 &
		SECONDARY_EXEC_SHADOW_VMCS);
}

void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_SYNC(S_OUTSIDE);
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_SYNC(S_ROOT);
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, NULL, &l2_stack[ARRAY_SIZE(l2_stack)]);
	GUEST_ASSERT(!vmwrite(GUEST_RIP, ASM_LABEL(ns_l2_pad)));
	GUEST_ASSERT(!vmwrite(HOST_RIP, ASM_LABEL(ns_l1_pad)));
	GUEST_ASSERT(!vmwrite(HOST_RSP,
			      (u64)&l1_pad_stack[ARRAY_SIZE(l1_pad_stack)]));
	if (l1_offered_shadowing()) {
		/* L2's VMREAD and VMWRITE reach this shadow VMCS (24.10) */
		GUEST_ASSERT(!vmptrld(vmx->shadow_vmcs_gpa));
		GUEST_ASSERT(!vmwrite(GUEST_RIP, 0x5a5a));
		GUEST_ASSERT(!vmptrld(vmx->vmcs_gpa));
		GUEST_ASSERT(!vmwrite(CPU_BASED_VM_EXEC_CONTROL,
				      vmreadz(CPU_BASED_VM_EXEC_CONTROL) |
				      CPU_BASED_ACTIVATE_SECONDARY_CONTROLS));
		GUEST_ASSERT(!vmwrite(SECONDARY_VM_EXEC_CONTROL,
				      vmreadz(SECONDARY_VM_EXEC_CONTROL) |
				      SECONDARY_EXEC_SHADOW_VMCS));
		GUEST_ASSERT(!vmwrite(VMCS_LINK_POINTER, vmx->shadow_vmcs_gpa));
	}
	GUEST_SYNC(S_VMCS);
	nvmx_call_asm(ASM_LABEL(ns_l1_launch), 0);
	GUEST_ASSERT(0);
}

/* The SMI handler at SMBASE + 8000H (real mode): report, then RSM */
static const u8 smi_handler[] = {
	0xba, PORT_SMM & 0xff, PORT_SMM >> 8,	/* mov $PORT_SMM, %dx */
	0xee,					/* out %al, %dx */
	0x0f, 0xaa,				/* rsm */
};

/* ---------------------------------------------------------------------- */
/* Host                                                                     */

/* What a run after an accepted state did */
enum outcome {
	O_REFUSED,		/* SET refused: no run */
	O_NOT_RUN,		/* stock: would WARN, not run */
	O_L2,			/* L2's pad */
	O_L1_EXIT,		/* an exit to L1 (L1's pad) */
	O_L1_VMFAIL,		/* L1's VMLAUNCH failed */
	O_L1,			/* L1's program went on (a ucall) */
	O_SMM,			/* the SMI handler */
	O_IO_OTHER,		/* an OUT or IN elsewhere */
	O_MMIO,
	O_SHUTDOWN,		/* L1 shut down (triple fault, VMX abort) */
	O_FAIL_ENTRY,		/* not clean from here on */
	O_INTERNAL,
	O_RUN_ERROR,		/* KVM_RUN failed */
	O_TIMEOUT,		/* no exit within a second */
	O_OTHER,
	NR_OUTCOMES
};

static const char * const outcome_name[NR_OUTCOMES] = {
	"refused", "accepted, not run (stock WARNs)", "ran: L2",
	"ran: exit to L1", "ran: L1's VMfail", "ran: L1", "ran: SMI handler",
	"ran: other I/O", "ran: MMIO", "L1 shut down", "KVM_EXIT_FAIL_ENTRY",
	"KVM_EXIT_INTERNAL_ERROR", "KVM_RUN error", "no progress (timeout)",
	"other exit",
};

static bool outcome_clean(enum outcome o)
{
	return o < O_FAIL_ENTRY;
}

struct stage {
	const char *name;
	struct kvm_x86_state *vcpu_state;	/* the vCPU in this situation */
	struct kvm_nested_state *then;	/* set after it, if not NULL */
	struct kvm_nested_state *base;		/* its nested state */
	u64 sets, accepted, einval, other_errno, changed;
	u64 outcome[NR_OUTCOMES];
	u64 exit_reason[66];	/* exits to L1 by basic reason; 64: failed entry 33, 65: other */
	u64 get_small, get_small_bad;
	u64 failures;		/* what fails the test with nvmx */
	u64 digest;
	double seconds;
};

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;
static struct vmx_pages *vmx;
static bool is_nvmx, verbose;
static int kmsg = -1;		/* -p: progress on the kernel log */
static u64 seed = NS_DEFAULT_SEED;
static u32 iters = NS_DEFAULT_ITERS;
static u64 nr_failures;

/*
 * L1's memory (memslot 0 and SMRAM) as it was when the stage began, for
 * the pages an accepted state lets KVM or the processor write.  (KVM's
 * dirty log would name them all, but in the emulated host it WARNs: Bochs
 * logs whole guest-physical addresses in the PML buffer, which vmx.c
 * expects page-aligned.)
 */
struct slot_copy {
	u64 gpa, size;
	u8 *hva;
	u8 *copy;
};

static struct slot_copy slots[2];

/* L1's stack (the library's: DEFAULT_STACK_PGS pages below the first RSP) */
#define L1_STACK_PAGES		DEFAULT_STACK_PGS
static u64 l1_stack_gpa[L1_STACK_PAGES];

static void slot_init(struct slot_copy *s, u32 slot)
{
	struct userspace_mem_region *r = memslot2region(vm, slot);

	s->gpa = r->region.guest_phys_addr;
	s->size = r->region.memory_size;
	s->hva = r->host_mem;
	s->copy = malloc(s->size);
	TEST_ASSERT(s->copy, "no memory");
}

static void memory_snapshot(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(slots); i++)
		memcpy(slots[i].copy, slots[i].hva, slots[i].size);
}

/* The pages of [@gpa, @gpa + @len) back as they were */
static void restore_range(u64 gpa, u64 len)
{
	u64 page, end = gpa + len;
	struct slot_copy *s;
	unsigned int i;

	if (end < gpa)
		end = -1ull;
	for (page = gpa & ~0xfffull; page < end && page >= (gpa & ~0xfffull);
	     page += PAGE_SIZE) {
		for (i = 0; i < ARRAY_SIZE(slots); i++) {
			s = &slots[i];
			if (page >= s->gpa && page - s->gpa < s->size)
				memcpy(s->hva + page - s->gpa,
				       s->copy + page - s->gpa, PAGE_SIZE);
		}
		if (page + PAGE_SIZE < page)
			break;
	}
}

/*
 * What @s lets KVM or the processor write in L1's memory: the VMXON
 * region and the current VMCS (vmcs12 goes there when the VMCS stops
 * being current), the shadow VMCS SET writes at vmcs12's link pointer,
 * and every guest-physical address vmcs12 holds (the table's address
 * rows: the VM-exit MSR-store list, the PML log, the virtual-APIC page,
 * ...); and L1's stack, whose frames above the stage's RSP L1 overwrites
 * when it returns and goes on.  L1's other stores as it goes on are to
 * what it writes again when the stage does.
 */
static void memory_restore(const struct kvm_nested_state *s)
{
	const struct vmcs12 *v = (const void *)s->data.vmx[0].vmcs12;
	const struct nvmx_field *f;
	unsigned int i;
	u64 len;
	u32 row;

	for (i = 0; i < L1_STACK_PAGES; i++)
		restore_range(l1_stack_gpa[i], PAGE_SIZE);
	if (!s)
		return;
	restore_range(s->hdr.vmx.vmxon_pa, VMCS_SIZE);
	restore_range(s->hdr.vmx.vmcs12_pa, VMCS_SIZE);
	for (row = 0; row < NVMX_NR_FIELDS; row++) {
		if (nvmx_fuzz.kinds[row] != K_ADDR &&
		    nvmx_fuzz.kinds[row] != K_APIC_ADDR)
			continue;
		f = &nvmx_fields[row];
		len = VMCS_SIZE;
		if (f->encoding == VM_EXIT_MSR_STORE_ADDR)
			len = 16 * (u64)min(v->vm_exit_msr_store_count, 4096u);
		restore_range(nvmx_vmcs12_read(v, f), len);
	}
}

static struct kvm_nested_state *state_alloc(void)
{
	struct kvm_nested_state *s = calloc(1, NS_BUF);

	TEST_ASSERT(s, "no memory");
	return s;
}

static struct kvm_nested_state *state_get(void)
{
	struct kvm_nested_state *s = state_alloc();

	s->size = NS_BUF;
	vcpu_nested_state_get(vcpu, s);
	return s;
}

/* Equal nested states: the header and the data their size covers */
static bool state_equal(const struct kvm_nested_state *a,
			const struct kvm_nested_state *b)
{
	return a->size == b->size && a->size <= NS_BUF &&
	       !memcmp(a, b, a->size);
}

/* The first byte where @a and @b differ (the size field if theirs do) */
static long state_diff(const struct kvm_nested_state *a,
		       const struct kvm_nested_state *b)
{
	u32 i;

	if (a->size != b->size)
		return offsetof(struct kvm_nested_state, size);
	for (i = 0; i < a->size && i < NS_BUF; i++)
		if (((const u8 *)a)[i] != ((const u8 *)b)[i])
			return i;
	return -1;
}

static void report_bad(struct stage *st, u32 it, const char *what, u64 v);

/*
 * The vCPU back in the stage's situation, and the pages of L1's memory
 * @in (if not NULL) let KVM or the processor write.  The nested state
 * must then read back as the base: with stock 6.1 it need not (a state
 * set in L2 reads back with other exit information,
 * nvmx_nested_state_test), which is reported and the base read again.
 */
static void stage_restore(struct stage *st, const struct kvm_nested_state *in,
			  u32 it)
{
	struct kvm_nested_state out = {
		.format = KVM_STATE_NESTED_FORMAT_VMX,
		.size = HDR_SIZE,
		.hdr.vmx.vmxon_pa = -1ull,
		.hdr.vmx.vmcs12_pa = -1ull,
	};
	struct kvm_nested_state *now;
	long at;

	/* Out of VMX operation first: the capability MSRs are set then */
	vcpu_nested_state_set(vcpu, &out);
	memory_restore(in);
	vcpu_load_state(vcpu, st->vcpu_state);
	if (st->then)
		vcpu_nested_state_set(vcpu, st->then);
	now = state_get();
	at = state_diff(now, st->base);
	if (at < 0) {
		free(now);
		return;
	}
	report_bad(st, it, "the stage's state set again reads back otherwise at byte",
		   at);
	free(st->base);
	st->base = now;
}

/* A KVM_RUN that only completes the last exit's I/O */
static void complete_io(void)
{
	vcpu->run->immediate_exit = 1;
	__vcpu_run(vcpu);
	vcpu->run->immediate_exit = 0;
}

static void on_alarm(int sig)
{
}

/* KVM_RUN once, with a second's limit, and what it came to */
static enum outcome run_once(struct stage *st, u32 *why)
{
	struct kvm_run *run = vcpu->run;
	struct itimerval t = { .it_value.tv_sec = 1 };
	struct itimerval off = {};
	int r;

	*why = 0;
	setitimer(ITIMER_REAL, &t, NULL);
	r = __vcpu_run(vcpu);
	setitimer(ITIMER_REAL, &off, NULL);
	if (r) {
		*why = errno;
		return errno == EINTR ? O_TIMEOUT : O_RUN_ERROR;
	}
	if (run->exit_reason == KVM_EXIT_IO || run->exit_reason == KVM_EXIT_MMIO)
		complete_io();
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		switch (run->io.port) {
		case PORT_L2:
			return O_L2;
		case PORT_L1:
			return O_L1_EXIT;
		case PORT_VMFAIL:
			return O_L1_VMFAIL;
		case PORT_SMM:
			return O_SMM;
		case PORT_UCALL:
			return O_L1;
		default:
			*why = run->io.port;
			return O_IO_OTHER;
		}
	case KVM_EXIT_MMIO:
		return O_MMIO;
	case KVM_EXIT_SHUTDOWN:
		return O_SHUTDOWN;
	case KVM_EXIT_FAIL_ENTRY:
		*why = run->fail_entry.hardware_entry_failure_reason;
		return O_FAIL_ENTRY;
	case KVM_EXIT_INTERNAL_ERROR:
		*why = run->internal.suberror;
		return O_INTERNAL;
	default:
		*why = run->exit_reason;
		return O_OTHER;
	}
}

/* The exit L1 got, from vmcs12 (SDM 27.2.1, 26.8) */
static void count_exit_to_l1(struct stage *st)
{
	struct kvm_nested_state *s = state_get();
	u32 reason = 0;

	if (s->size >= HDR_SIZE + VMCS_SIZE)
		memcpy(&reason, s->data.vmx[0].vmcs12 + OFF_EXIT_REASON,
		       sizeof(reason));
	if (reason == (BIT(31) | 33))
		st->exit_reason[64]++;
	else if (reason < 64)
		st->exit_reason[reason]++;
	else
		st->exit_reason[65]++;
	free(s);
}

/* ---------------------------------------------------------------------- */
/* Mutations                                                                */

static char desc[512];
static size_t desc_len;

static void describe(const char *fmt, ...)
{
	va_list ap;

	if (desc_len >= sizeof(desc) - 1)
		return;
	va_start(ap, fmt);
	desc_len += vsnprintf(desc + desc_len, sizeof(desc) - desc_len, fmt, ap);
	va_end(ap);
}

/* A guest-physical address for a VMXON or vmcs12 pointer */
static u64 mutate_region(const struct kvm_nested_state *s, u64 old)
{
	switch (fuzz_below(10)) {
	case 0:
		return old + 8 * (1 + fuzz_below(511));	/* unaligned */
	case 1:
		return -1ull;
	case 2:
		return s->hdr.vmx.vmxon_pa;		/* the same as VMXON */
	case 3:
		return s->hdr.vmx.vmcs12_pa;
	case 4:
		return nvmx_fuzz.mem_end_gpa;		/* outside memory */
	case 5:
		return 1ull << nvmx_fuzz.maxphyaddr;	/* beyond */
	case 6:
		return nvmx_fuzz.zero_gpa;
	case 7:
		return SMRAM_GPA;
	default:
		return fuzz_mutate_any(NVMX_IDX_vmcs_link_pointer, old);
	}
}

/* Row @row of the vmcs12 at @vmcs mutated (the table's mutators) */
static void mutate_row(u8 *vmcs, const char *which)
{
	u32 row = fuzz_below(NVMX_NR_FIELDS);
	const struct nvmx_field *f = &nvmx_fields[row];
	u64 v = fuzz_mutate_any(row, nvmx_vmcs12_read((void *)vmcs, f));

	nvmx_vmcs12_write((void *)vmcs, f, v);
	describe(" %s.%s=0x%lx", which, f->name, v);
}

/* A raw byte, 32-bit word or flipped bit anywhere in a 4-KByte region */
static void mutate_raw(u8 *vmcs, const char *which)
{
	u32 off = fuzz_below(VMCS_SIZE - 4);
	u32 v;

	switch (fuzz_below(4)) {
	case 0:
		off &= ~3u;
		v = (u32)fuzz_rnd();
		memcpy(vmcs + off, &v, 4);
		describe(" %s[%u]=0x%x", which, off, v);
		break;
	case 1:
		off = fuzz_below(16) & ~3u;	/* the header, the abort indicator */
		memcpy(&v, vmcs + off, 4);
		v ^= 1u << fuzz_below(32);
		memcpy(vmcs + off, &v, 4);
		describe(" %s[%u]=0x%x", which, off, v);
		break;
	default:
		vmcs[off] ^= 1u << fuzz_below(8);
		describe(" %s[%u]^=bit", which, off);
		break;
	}
}

static const u32 sizes[] = {
	0, 1, HDR_SIZE - 1, HDR_SIZE, HDR_SIZE + 1, HDR_SIZE + VMCS_SIZE - 1,
	HDR_SIZE + VMCS_SIZE, HDR_SIZE + 2 * VMCS_SIZE - 1,
	HDR_SIZE + 2 * VMCS_SIZE, NS_BUF, 0x7fffffff, 0xffffffff,
};

static const u32 flags[] = {
	KVM_STATE_NESTED_GUEST_MODE, KVM_STATE_NESTED_RUN_PENDING,
	KVM_STATE_NESTED_EVMCS, KVM_STATE_NESTED_MTF_PENDING,
	KVM_STATE_NESTED_GIF_SET,
};

/* One mutation of @s (a copy of the base, @NS_BUF bytes) */
static void mutate_one(struct kvm_nested_state *s)
{
	struct kvm_vmx_nested_state_hdr *h = &s->hdr.vmx;

	switch (fuzz_below(12)) {
	case 0:
		if (fuzz_below(2))
			s->flags ^= flags[fuzz_below(ARRAY_SIZE(flags))];
		else
			s->flags ^= 1u << fuzz_below(16);
		describe(" flags=0x%x", s->flags);
		break;
	case 1:
		s->format = fuzz_below(4) ? 1 : (u16)fuzz_rnd();
		describe(" format=%u", s->format);
		break;
	case 2:
		s->size = fuzz_below(4) ? sizes[fuzz_below(ARRAY_SIZE(sizes))] :
					  fuzz_below(NS_BUF);
		describe(" size=%u", s->size);
		break;
	case 3:
		h->vmxon_pa = mutate_region(s, h->vmxon_pa);
		describe(" vmxon_pa=0x%llx", h->vmxon_pa);
		break;
	case 4:
		h->vmcs12_pa = mutate_region(s, h->vmcs12_pa);
		if (h->vmcs12_pa != -1ull && s->size < HDR_SIZE + VMCS_SIZE)
			s->size = HDR_SIZE + VMCS_SIZE;
		describe(" vmcs12_pa=0x%llx size=%u", h->vmcs12_pa, s->size);
		break;
	case 5:
		h->smm.flags = fuzz_below(2) ? fuzz_below(4) : (u16)fuzz_rnd();
		describe(" smm.flags=0x%x", h->smm.flags);
		break;
	case 6:
		h->flags = fuzz_below(2) ? KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE :
					   (u32)fuzz_rnd();
		h->preemption_timer_deadline = fuzz_rnd();
		describe(" vmx.flags=0x%x", h->flags);
		break;
	case 7:
	case 8:
	case 9:
		mutate_row(s->data.vmx[0].vmcs12, "vmcs12");
		break;
	case 10:
		if (fuzz_below(2))
			mutate_raw(s->data.vmx[0].vmcs12, "vmcs12");
		else
			mutate_raw(s->data.vmx[0].shadow_vmcs12, "shadow");
		break;
	default:
		mutate_row(s->data.vmx[0].shadow_vmcs12, "shadow");
		break;
	}
}

/* A random blob of a random size, or a mutated base */
static struct kvm_nested_state *make_input(struct stage *st, u8 *donor)
{
	struct kvm_nested_state *s = state_alloc();
	u32 i, n;

	desc_len = 0;
	desc[0] = 0;
	if (fuzz_below(10) == 0) {
		n = fuzz_below(NS_BUF);
		for (i = 0; i < n; i++)
			((u8 *)s)[i] = (u8)fuzz_rnd();
		if (fuzz_below(2))
			s->format = KVM_STATE_NESTED_FORMAT_VMX;
		if (fuzz_below(2))
			s->size = n;
		describe(" random %u bytes, size %u", n, s->size);
		return s;
	}
	memcpy(s, st->base, st->base->size);
	/* A base without vmcs12: a valid-looking one to add */
	if (st->base->size < HDR_SIZE + VMCS_SIZE)
		memcpy(s->data.vmx[0].vmcs12, donor, VMCS_SIZE);
	if (st->base->size < HDR_SIZE + 2 * VMCS_SIZE)
		memcpy(s->data.vmx[0].shadow_vmcs12, donor, VMCS_SIZE);
	n = 1 + fuzz_below(NS_MAX_MUT);
	for (i = 0; i < n; i++)
		mutate_one(s);
	return s;
}

/*
 * Stock 6.1 WARNs at KVM_RUN on some states it took on a vCPU whose entry
 * was pending (a pending nested run in nested_vmx_vmexit(), then KVM_BUG_ON
 * in vmx_handle_exit() and KVM_RUN fails with EIO; measured with an EPT
 * PML4 table outside L1's memory, a guest state it would have to emulate,
 * another VMXON pointer with a shadow VMCS byte changed, and in the
 * pending stage beyond those): with it, nothing accepted in a stage whose
 * base has its entry pending is run, nor a pending state elsewhere.
 */
static bool stock_would_warn(const struct stage *st,
			     const struct kvm_nested_state *s)
{
	return !is_nvmx &&
	       ((st->base->flags | s->flags) & KVM_STATE_NESTED_RUN_PENDING);
}

static void digest(struct stage *st, u64 a, u64 b, u64 c)
{
	u64 w[3] = { a, b, c };
	const u8 *p = (const u8 *)w;
	unsigned int i;

	for (i = 0; i < sizeof(w); i++) {
		st->digest ^= p[i];
		st->digest *= 0x100000001b3ull;
	}
}

/* A failure with nvmx, reported with stock */
/* Printed per stage; -v prints them all */
#define NS_MAX_REPORTS		8

static void report_bad(struct stage *st, u32 it, const char *what, u64 v)
{
	if (st->failures++ < NS_MAX_REPORTS || verbose)
		ksft_print_msg("%s %s seed 0x%lx it %u:%s: %s 0x%lx\n",
			       is_nvmx ? "FAIL" : "stock:", st->name, seed, it,
			       desc, what, v);
}

/*
 * -p: where the test is, on the kernel log (the console of the emulated
 * host shows it as it happens; the test's own output comes at its end).
 */
static void progress(const char *name, u32 it)
{
	char line[96];
	int n;

	if (kmsg < 0)
		return;
	n = snprintf(line, sizeof(line), "<3>nvmx-ns-fuzz: %s %u\n", name, it);
	if (write(kmsg, line, n) != n)
		kmsg = -1;
}

static void one(struct stage *st, u32 it, u8 *donor)
{
	struct kvm_nested_state *in = make_input(st, donor), *now;
	enum outcome o = O_REFUSED;
	u32 why = 0;
	int r, err;

	st->sets++;
	r = __vcpu_nested_state_set(vcpu, in);
	err = r ? errno : 0;
	if (r) {
		if (err == EINVAL) {
			st->einval++;
		} else {
			st->other_errno++;
			report_bad(st, it, "SET failed with errno", err);
		}
		now = state_get();
		if (!state_equal(now, st->base)) {
			st->changed++;
			report_bad(st, it, "refused, but the state changed at byte",
				   state_diff(now, st->base));
			stage_restore(st, in, it);
		}
		free(now);
	} else {
		st->accepted++;
		if (stock_would_warn(st, in)) {
			o = O_NOT_RUN;
		} else {
			o = run_once(st, &why);
			if (o == O_L1_EXIT)
				count_exit_to_l1(st);
			if (!outcome_clean(o))
				report_bad(st, it, outcome_name[o], why);
		}
		stage_restore(st, in, it);
	}
	st->outcome[o]++;
	digest(st, it, err, o);
	if (verbose)
		ksft_print_msg("%s it %u:%s -> %s, %s\n", st->name, it, desc,
			       r ? strerror(err) : "accepted", outcome_name[o]);
	free(in);
}

/* GET into buffers smaller than the state: E2BIG and the size (api.rst) */
static void get_sizes(struct stage *st)
{
	struct kvm_nested_state *s = state_alloc();
	u32 i, size;
	int r;

	for (i = 0; i < 8; i++) {
		size = fuzz_below(st->base->size);
		memset(s, 0, NS_BUF);
		s->size = size;
		r = __vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, s);
		st->get_small++;
		if (size < HDR_SIZE && r == -1 && errno == E2BIG)
			continue;	/* x86.c: the header does not fit */
		if (r != -1 || errno != E2BIG || s->size != st->base->size) {
			st->get_small_bad++;
			report_bad(st, i, "GET into a small buffer: rc", r);
		}
	}
	free(s);
}

static void stage_print(struct stage *st)
{
	unsigned int i;

	ksft_print_msg("ns-stage %s: %lu SETs, %.2f s: accepted %lu, EINVAL %lu, %s %lu, %s %lu\n",
		       st->name, st->sets, st->seconds, st->accepted, st->einval,
		       "other errors", st->other_errno, "refused but changed",
		       st->changed);
	for (i = 0; i < NR_OUTCOMES; i++)
		if (st->outcome[i] && i != O_REFUSED)
			ksft_print_msg("  %-36s %6lu\n", outcome_name[i],
				       st->outcome[i]);
	if (st->outcome[O_L1_EXIT]) {
		ksft_print_msg("  exits to L1 by reason:");
		for (i = 0; i < ARRAY_SIZE(st->exit_reason); i++)
			if (st->exit_reason[i])
				printf(" %s%u %lu", i == 64 ? "failed entry " : "",
				       i == 64 ? 33 : i == 65 ? ~0u : i,
				       st->exit_reason[i]);
		printf("\n");
	}
	ksft_print_msg("  GET into small buffers %lu, wrong %lu\n",
		       st->get_small, st->get_small_bad);
	if (st->failures > NS_MAX_REPORTS && !verbose)
		ksft_print_msg("  %lu %s reported, the first %u printed (-v: all)\n",
			       st->failures, is_nvmx ? "failures" : "deviations",
			       NS_MAX_REPORTS);
	ksft_print_msg("ns-digest %s 0x%016lx\n", st->name, st->digest);
}

/* A field of the vmcs12 in @s, by its row */
static u64 vmcs12_field(const struct kvm_nested_state *s, u32 row)
{
	return nvmx_vmcs12_read((const void *)s->data.vmx[0].vmcs12,
				&nvmx_fields[row]);
}

/*
 * A state in L2 set with EPT on and the EPT PML4 table outside L1's
 * memory (the EPTP at the first page past memslot 0): L2's first access,
 * the fetch at its RIP, reads the table as all ones, an EPT
 * misconfiguration (SDM 28.2.3.1), and L1 gets exit 49 with
 * qualification 0 and the guest-physical address of that access, the
 * PML4 entry of L2's RIP (27.2.1, 4.5), whether the entry is pending or
 * L2 ran before.  Stock 6.1 gives a triple fault (exit 2) there, and
 * WARNs with the entry pending: not tried with it then.
 */
static void eptp_outside(struct stage *st)
{
	u64 exec2_may1 = vcpu_get_msr(vcpu, MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
	struct kvm_nested_state *s, *after;
	u64 gpa, reason, qual, got_gpa;
	u32 why;
	u8 *v;

	if (!(exec2_may1 & SECONDARY_EXEC_ENABLE_EPT) ||
	    (!is_nvmx && (st->base->flags & KVM_STATE_NESTED_RUN_PENDING)))
		return;
	s = state_alloc();
	memcpy(s, st->base, st->base->size);
	v = s->data.vmx[0].vmcs12;
	nvmx_vmcs12_write((void *)v, &nvmx_fields[NVMX_IDX_secondary_vm_exec_control],
			  vmcs12_field(s, NVMX_IDX_secondary_vm_exec_control) |
			  SECONDARY_EXEC_ENABLE_EPT);
	nvmx_vmcs12_write((void *)v, &nvmx_fields[NVMX_IDX_ept_pointer],
			  nvmx_fuzz.mem_end_gpa | 6 | 3 << 3);
	gpa = (vmcs12_field(s, NVMX_IDX_guest_cr3) & GENMASK_ULL(51, 12)) +
	      ((vmcs12_field(s, NVMX_IDX_guest_rip) >> 39) & 0x1ff) * 8;
	snprintf(desc, sizeof(desc), " EPT on, EPTP 0x%lx (outside)",
		 nvmx_fuzz.mem_end_gpa);
	if (__vcpu_nested_state_set(vcpu, s)) {
		report_bad(st, 0, "refused, errno", errno);
	} else if (run_once(st, &why) != O_L1_EXIT) {
		report_bad(st, 0, "L1 did not get the exit; I/O port or reason",
			   vcpu->run->io.port);
	} else {
		after = state_get();
		reason = vmcs12_field(after, NVMX_IDX_vm_exit_reason);
		qual = vmcs12_field(after, NVMX_IDX_exit_qualification);
		got_gpa = vmcs12_field(after, NVMX_IDX_guest_physical_address);
		ksft_print_msg("%s: EPTP outside memory: %s %lu, %s 0x%lx, %s 0x%lx (%s 0x%lx)\n",
			       st->name, "exit", reason, "qualification", qual,
			       "GPA", got_gpa, "expected 49, 0,", gpa);
		if (reason != 49 || qual || got_gpa != gpa)
			report_bad(st, 0, "EPT PML4 table outside: exit reason", reason);
		free(after);
	}
	stage_restore(st, s, 0);
	free(s);
	desc[0] = 0;
}

/*
 * Fuzz the vCPU's present situation as stage @name; @then: a nested state
 * to set first (the pending entry's).
 */
static void stage(const char *name, struct kvm_nested_state *then,
		  u8 *donor)
{
	struct stage st = {
		.name = name, .then = then, .digest = 0xcbf29ce484222325ull,
	};
	struct timespec t0, t1;
	u32 i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	st.vcpu_state = vcpu_save_state(vcpu);
	if (then)
		vcpu_nested_state_set(vcpu, then);
	st.base = state_get();
	memory_snapshot();
	desc[0] = 0;
	stage_restore(&st, NULL, 0);
	get_sizes(&st);
	if (st.base->flags & KVM_STATE_NESTED_GUEST_MODE)
		eptp_outside(&st);
	for (i = 0; i < iters; i++) {
		if (i % 100 == 0)
			progress(name, i);
		one(&st, i, donor);
	}
	desc[0] = 0;
	stage_restore(&st, NULL, iters);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st.seconds = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	stage_print(&st);
	if (is_nvmx)
		ksft_test_result(!st.failures, "%s\n", name);
	else
		ksft_test_result_pass("%s (%lu reported)\n", name, st.failures);
	nr_failures += st.failures;
	free(st.base);
	kvm_x86_state_cleanup(st.vcpu_state);
}

/* Run L1 on to its next report; the pads' OUTs are reports too */
static u32 run_to_report(void)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
		    "L1 stopped with exit reason %u (%s)", vcpu->run->exit_reason,
		    exit_reason_str(vcpu->run->exit_reason));
	if (vcpu->run->io.port != PORT_UCALL)
		return vcpu->run->io.port;
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		return uc.args[1];
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
	}
	return 0;
}

static void expect_report(u32 want)
{
	u32 got = run_to_report();

	TEST_ASSERT(got == want, "L1 reported 0x%x, expected 0x%x", got, want);
}

static void ns_usage(const char *name)
{
	printf("usage: %s [-s SEED] [-i ITERATIONS_PER_STAGE] [-v] [-p]\n", name);
	exit(KSFT_FAIL);
}

int main(int argc, char *argv[])
{
	struct kvm_nested_state *pending;
	struct kvm_x86_state *l2_vcpu;
	struct sigaction sa = { .sa_handler = on_alarm };
	struct kvm_regs regs;
	unsigned int i;
	vm_vaddr_t gva;
	u8 donor[VMCS_SIZE] = {};
	u32 rev;
	int opt;

	while ((opt = getopt(argc, argv, "s:i:vp")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'i':
			iters = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			verbose = true;
			break;
		case 'p':
			kmsg = open("/dev/kmsg", O_WRONLY);
			break;
		default:
			ns_usage(argv[0]);
		}
	}

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));
	ksft_print_header();
	ksft_set_plan(7);
	is_nvmx = nvmx_host_module_is_nvmx();
	ksft_print_msg("ns-fuzz seed 0x%lx, %u iterations per stage (-s SEED -i N to repeat)%s\n",
		       seed, iters, is_nvmx ? "" : "; stock: reported, not failed");
	sigaction(SIGALRM, &sa, NULL);

	vm = nvmx_host_create_vm(&vcpu, &vmx);
	vcpu_regs_get(vcpu, &regs);
	for (i = 0; i < L1_STACK_PAGES; i++)
		l1_stack_gpa[i] = addr_gva2gpa(vm, regs.rsp - (i + 1) * PAGE_SIZE);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SMRAM_GPA,
				    SMRAM_MEMSLOT, SMRAM_PAGES, 0);
	TEST_ASSERT(vm_phy_pages_alloc(vm, SMRAM_PAGES, SMRAM_GPA,
				       SMRAM_MEMSLOT) == SMRAM_GPA, "SMRAM");
	memset(addr_gpa2hva(vm, SMRAM_GPA), 0, SMRAM_PAGES * PAGE_SIZE);
	memcpy(addr_gpa2hva(vm, SMRAM_GPA) + 0x8000, smi_handler,
	       sizeof(smi_handler));
	vcpu_set_msr(vcpu, MSR_IA32_SMBASE, SMRAM_GPA);

	/* What the table's mutators point at */
	gva = vm_vaddr_alloc_page(vm);
	memset(addr_gva2hva(vm, gva), 0, PAGE_SIZE);
	nvmx_fuzz.zero_gpa = addr_gva2gpa(vm, gva);
	gva = vm_vaddr_alloc_page(vm);
	memset(addr_gva2hva(vm, gva), 0, PAGE_SIZE);
	nvmx_fuzz.list_gpa = addr_gva2gpa(vm, gva);
	nvmx_fuzz.mem_end_gpa = memslot2region(vm, 0)->region.guest_phys_addr +
				memslot2region(vm, 0)->region.memory_size;
	nvmx_fuzz.maxphyaddr = kvm_get_supported_cpuid_entry(0x80000008)->eax & 0xff;
	nvmx_fuzz.rng = seed ? seed : NS_DEFAULT_SEED;
	nvmx_fuzz_init();
	/* A vmcs12 for states that have none: our revision, zeros */
	rev = vcpu_get_msr(vcpu, MSR_IA32_VMX_BASIC) & 0x7fffffff;
	memcpy(donor, &rev, sizeof(rev));

	sync_global_to_guest(vm, nvmx_env);
	slot_init(&slots[0], 0);
	slot_init(&slots[1], SMRAM_MEMSLOT);

	expect_report(S_OUTSIDE);
	stage("outside", NULL, donor);
	expect_report(S_ROOT);
	stage("root", NULL, donor);
	nvmx_inject_smi(vcpu);
	expect_report(PORT_SMM);
	stage("smm-root", NULL, donor);
	expect_report(S_VMCS);
	stage("vmcs", NULL, donor);
	expect_report(PORT_L2);
	vcpu_run_complete_io(vcpu);
	l2_vcpu = vcpu_save_state(vcpu);
	stage("l2", NULL, donor);
	pending = state_get();
	pending->flags |= KVM_STATE_NESTED_RUN_PENDING;
	stage("pending", pending, donor);
	/* Back in L2, its entry done */
	vcpu_nested_state_set(vcpu, &(struct kvm_nested_state){
		.format = KVM_STATE_NESTED_FORMAT_VMX, .size = HDR_SIZE,
		.hdr.vmx.vmxon_pa = -1ull, .hdr.vmx.vmcs12_pa = -1ull });
	vcpu_load_state(vcpu, l2_vcpu);
	nvmx_inject_smi(vcpu);
	expect_report(PORT_SMM);
	stage("smm-l2", NULL, donor);
	/* RSM back to L2; stock 6.1 exits to L1 instead (reported) */
	i = run_to_report();
	if (is_nvmx || i != PORT_L1)
		TEST_ASSERT(i == PORT_L2, "L1 reported 0x%x, expected 0x%x", i,
			    PORT_L2);
	else
		ksft_print_msg("stock: RSM into L2 exits to L1\n");
	free(pending);
	kvm_x86_state_cleanup(l2_vcpu);
	kvm_vm_free(vm);

	if (nr_failures)
		ksft_print_msg("%lu %s\n", nr_failures, is_nvmx ?
			       "failures" : "reported with stock (deviations, not failures)");
	ksft_finished();
	return 0;
}
