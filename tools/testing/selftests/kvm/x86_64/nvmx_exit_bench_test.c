// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_exit_bench_test: the cost of a reflected exit, L2 -> L0 -> L1 -> L0
 * -> L2, by kind of exit.
 *
 * L2 executes an exiting instruction N times (-n N, default 2000); L1
 * handles each exit and resumes L2 after the instruction.  L1 reads its
 * TSC at the first exit and at the exit that ends the loop (a VMCALL after
 * it): N round trips (handle, VMRESUME, L2 runs to its next exit).  In the
 * emulated host the TSC follows the instruction count, so the figures
 * repeat from run to run; on a real VMX host they are real TSC cycles.
 * Every variant runs R times (-r R, default 1).  The variants:
 *
 *   cpuid        CPUID, which always exits (SDM 25.1.2), exit reason 10
 *   vmcall       VMCALL, which always exits, 18
 *   io           OUT to port 0x80 with "unconditional I/O exiting", 30
 *   rdmsr        RDMSR of IA32_PAT, whose bit is set in L1's MSR read
 *                bitmap, 31
 *   cr0          MOV to CR0 that flips CR0.MP, a bit L1 owns through its CR0
 *                guest/host mask (all bits but TS, as KVM sets it), 28
 *   exception    INT3 with #BP in L1's exception bitmap, 0; INT3 is a
 *                software exception, so the exit saves the RIP of the INT3
 *                and its length (27.2.5, 27.3.3)
 *   cpuid_lib    cpuid, L1's handler in C through the library's vmresume(),
 *                which writes HOST_RSP and HOST_RIP at every round trip
 *   cpuid_plain  cpuid with prepare_vmcs()'s controls alone (the setup of
 *                issue 10's reference figures)
 *
 * All but cpuid_lib have the minimal handler: an asm stub that HOST_RIP
 * points to (HOST_RSP written once, before VMLAUNCH) does VMREAD exit
 * reason, VMREAD VM-exit instruction length, VMREAD guest RIP, VMWRITE
 * guest RIP (plus the length) and VMRESUME, and besides those five only
 * the loop's bookkeeping: it compares the reason and the RIP with the
 * expected ones and counts the round trips down.  Any other exit, or one
 * exit more than N, ends the loop; the loop must end with the VMCALL after
 * exactly N round trips.
 *
 * Controls: prepare_vmcs()'s (no EPT: L2 runs on L1's page tables) and,
 * for every variant but cpuid_plain, L1's typical setup: "use MSR bitmaps"
 * (the bitmap clear but for reads of IA32_PAT) and "enable VPID" with VPID
 * 1.  A variant whose controls L1 is not offered is skipped, with the
 * reason.  cpuid_plain has neither, so every VM entry and VM exit between
 * L1 and L2 flushes the guest's TLB (28.3.3.1).
 *
 * The floor is the same instruction executed N times by L1 itself, before
 * VMXON, where it exits to L0 and KVM handles it in the kernel: cpuid,
 * vmcall (KVM's hypercall handler; number 0 returns -KVM_ENOSYS), rdmsr
 * (KVM intercepts reads of IA32_PAT) and cr0 (KVM owns CR0.MP; the floor
 * loop flips MP at every write, as a write of the value CR0 has does not
 * exit).  The other variants have no floor, and the output says why.
 *
 * L0's work: the host reads KVM's vCPU statistics (KVM_GET_STATS_FD) at the
 * GUEST_SYNC right before and right after each loop.  Each run of a loop
 * with N round trips comes right after one with 0 (the same VMLAUNCH,
 * closing exit and syncs), and each figure per round trip, cycles too, is
 * the difference between the two divided by N: that leaves out the syncs'
 * own exits and the loop's setup.  A variant's first run with 0 is a
 * warm-up and counts for nothing: the first entry with new controls can
 * cost what later ones do not (a VPID that differs from the last entry's
 * has its TLB entries flushed, for one).  L0 exits
 * are "exits" less "irq_exits" (external interrupts arrive at no fixed
 * point of the loop); "tlb_flush" and "req_event" are per 1000 round trips.
 *
 * Output, per variant and run: "# nvmx-bench VARIANT CYCLES",
 * "# nvmx-bench VARIANT_l0_exits_per_rt X.XX",
 * "# nvmx-bench VARIANT_tlb_flush_per_1k N",
 * "# nvmx-bench VARIANT_req_event_per_1k N", and for a floor
 * "# nvmx-bench VARIANT_floor CYCLES" and
 * "# nvmx-bench VARIANT_floor_l0_exits_per_rt X.XX"; first
 * "# nvmx-bench-config n=N r=R".  CYCLES is per round trip (per
 * instruction for a floor).  Each variant is a TAP result: it passes when
 * every run ended as described above.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "kselftest.h"

#include "nvmx_module.h"

/* Round trips per loop and runs per variant (-n, -r), set by the host. */
u32 bench_n = 2000;
u32 bench_r = 1;

/* The loop functions below count bench_left down to 0. */
u32 bench_left;
/* What cr0's loop writes: L1's CR0 with MP flipped. */
u64 bench_cr0;
/* The loop L2 runs (bench_l2_entry calls it, then VMCALLs). */
void (*bench_l2_loop)(void);

/*
 * BENCH_LOOP(NAME, SETUP, INSN): "void NAME(void)", which executes SETUP
 * and then INSN bench_left times.  INSN is at the label NAME_insn.  The
 * loops use RAX, RBX (saved), RCX and RDX only, and set what INSN reads at
 * every iteration: L2 shares its GPRs but RSP with L1 (VM entry and exit
 * leave them alone, SDM 26.3.2.3, 27.5.3), whose handler may change any
 * of them between two exits (the stub below reads the TSC into RAX:RDX at
 * the first exit; the one in C uses what the compiler likes).
 */
#define BENCH_LOOP(name, setup, insn)					\
	asm(".pushsection .text\n"					\
	    ".global " #name "\n"					\
	    ".type " #name ", @function\n"				\
	    #name ":\n\t"						\
	    "push %rbx\n\t"						\
	    "cmpl $0, bench_left(%rip)\n\t"				\
	    "je 2f\n"							\
	    "1:\t" setup "\n"						\
	    ".global " #name "_insn\n"					\
	    #name "_insn:\n\t"						\
	    insn "\n\t"							\
	    "decl bench_left(%rip)\n\t"					\
	    "jnz 1b\n"							\
	    "2:\tpop %rbx\n\t"						\
	    "ret\n"							\
	    ".popsection")

BENCH_LOOP(bench_cpuid, "xor %eax, %eax\n\txor %ecx, %ecx", "cpuid");
BENCH_LOOP(bench_vmcall, "xor %eax, %eax", "vmcall");
BENCH_LOOP(bench_io, "xor %eax, %eax", "outb %al, $0x80");
BENCH_LOOP(bench_rdmsr, "mov $" __stringify(MSR_IA32_CR_PAT) ", %ecx", "rdmsr");
BENCH_LOOP(bench_cr0_write, "mov bench_cr0(%rip), %rax", "mov %rax, %cr0");
BENCH_LOOP(bench_int3, "", "int3");
/* cr0's floor: flip MP (bit 1) at every write. */
BENCH_LOOP(bench_cr0_flip, "mov %cr0, %rax\n\txor $2, %rax", "mov %rax, %cr0");

/* L2: the loop, then the VMCALL that ends it, at bench_l2_end. */
asm(".pushsection .text\n"
	".global bench_l2_entry\n"
	"bench_l2_entry:\n\t"
	"call *bench_l2_loop(%rip)\n"
	".global bench_l2_end\n"
	"bench_l2_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection");

/* Declarations of the asm's functions and labels. */
#define BENCH_ASM(name)		void name(void)
BENCH_ASM(bench_cpuid);
BENCH_ASM(bench_cpuid_insn);
BENCH_ASM(bench_vmcall);
BENCH_ASM(bench_vmcall_insn);
BENCH_ASM(bench_io);
BENCH_ASM(bench_io_insn);
BENCH_ASM(bench_rdmsr);
BENCH_ASM(bench_rdmsr_insn);
BENCH_ASM(bench_cr0_write);
BENCH_ASM(bench_cr0_write_insn);
BENCH_ASM(bench_int3);
BENCH_ASM(bench_int3_insn);
BENCH_ASM(bench_cr0_flip);
BENCH_ASM(bench_l2_entry);
BENCH_ASM(bench_l2_end);

static u8 l2_stack[4096] __aligned(16);

/* What one run of a loop found, for the host (sync_global_from_guest). */
struct bench_run {
	u64 cycles;		/* TSC from the first exit to the last one */
	u64 left;		/* round trips not made; ~0: one exit too many */
	u64 vmfail;		/* VMLAUNCH or VMRESUME failed */
	/* The exit that ended the loop (after a VMfail: the error number). */
	u64 exit_reason, exit_rip;
};

struct bench_run bench_result;

/* VMCS field encodings (SDM Appendix B) and offsets for the stub below. */
#define BENCH_F_EXIT_REASON	0x4402
#define BENCH_F_INSN_LEN	0x440c
#define BENCH_F_GUEST_RIP	0x681e
#define BENCH_F_HOST_RSP	0x6c14
#define BENCH_F_HOST_RIP	0x6c16
static_assert(BENCH_F_EXIT_REASON == VM_EXIT_REASON, "encoding");
static_assert(BENCH_F_INSN_LEN == VM_EXIT_INSTRUCTION_LEN, "encoding");
static_assert(BENCH_F_GUEST_RIP == GUEST_RIP, "encoding");
static_assert(BENCH_F_HOST_RSP == HOST_RSP, "encoding");
static_assert(BENCH_F_HOST_RIP == HOST_RIP, "encoding");
static_assert(offsetof(struct bench_run, cycles) == 0, "offset");
static_assert(offsetof(struct bench_run, left) == 8, "offset");
static_assert(offsetof(struct bench_run, vmfail) == 16, "offset");

/*
 * VMLAUNCH the current VMCS and handle its exits with the minimal handler
 * while they have exit reason @reason at guest RIP @insn, at most @n times.
 * Registers across the loop: R12-R14 the three fields' encodings, RSI the
 * reason, RDI the RIP, RBP the round trips left, R8 the TSC at the first
 * exit; R9-R11 scratch.  HOST_RSP points at @r, saved on the stack; the
 * first exit (.Lbench_first) points HOST_RIP at .Lbench_exit and reads the
 * TSC.  Returns with the VMCS current, its last exit unhandled.  Naked, and
 * not static so that its arguments stay where the ABI puts them.
 */
void __attribute__((naked))
bench_run_minimal(u64 insn, u64 reason, u64 n, struct bench_run *r)
{
	asm("push %rbp\n\t"
	    "push %rbx\n\t"
	    "push %r12\n\t"
	    "push %r13\n\t"
	    "push %r14\n\t"
	    "push %r15\n\t"
	    "push %rcx\n\t"
	    "mov %rdx, %rbp\n\t"
	    "xor %r8d, %r8d\n\t"
	    "mov $" __stringify(BENCH_F_HOST_RSP) ", %eax\n\t"
	    "vmwrite %rsp, %rax\n\t"
	    "lea .Lbench_first(%rip), %rdx\n\t"
	    "mov $" __stringify(BENCH_F_HOST_RIP) ", %eax\n\t"
	    "vmwrite %rdx, %rax\n\t"
	    "mov $" __stringify(BENCH_F_EXIT_REASON) ", %r12d\n\t"
	    "mov $" __stringify(BENCH_F_INSN_LEN) ", %r13d\n\t"
	    "mov $" __stringify(BENCH_F_GUEST_RIP) ", %r14d\n\t"
	    "vmlaunch\n\t"
	    "jmp .Lbench_vmfail\n"
	    ".Lbench_first:\n\t"
	    "mov $" __stringify(BENCH_F_HOST_RIP) ", %r9d\n\t"
	    "lea .Lbench_exit(%rip), %r10\n\t"
	    "vmwrite %r10, %r9\n\t"
	    "rdtsc\n\t"
	    "shl $32, %rdx\n\t"
	    "or %rdx, %rax\n\t"
	    "mov %rax, %r8\n"
	    ".Lbench_exit:\n\t"
	    "vmread %r12, %r9\n\t"
	    "cmp %rsi, %r9\n\t"
	    "jne .Lbench_done\n\t"
	    "vmread %r13, %r10\n\t"
	    "vmread %r14, %r11\n\t"
	    "cmp %rdi, %r11\n\t"
	    "jne .Lbench_done\n\t"
	    "sub $1, %rbp\n\t"
	    "jc .Lbench_done\n\t"
	    "add %r10, %r11\n\t"
	    "vmwrite %r11, %r14\n\t"
	    "vmresume\n"
	    ".Lbench_vmfail:\n\t"
	    "mov (%rsp), %rcx\n\t"
	    "movq $1, 16(%rcx)\n"
	    ".Lbench_done:\n\t"
	    "rdtsc\n\t"
	    "shl $32, %rdx\n\t"
	    "or %rdx, %rax\n\t"
	    "sub %r8, %rax\n\t"
	    "pop %rcx\n\t"
	    "mov %rax, 0(%rcx)\n\t"
	    "mov %rbp, 8(%rcx)\n\t"
	    "pop %r15\n\t"
	    "pop %r14\n\t"
	    "pop %r13\n\t"
	    "pop %r12\n\t"
	    "pop %rbx\n\t"
	    "pop %rbp\n\t"
	    "ret");
}

/* The same loop with the handler in C, through the library's vmresume(). */
static void bench_run_lib(u64 insn, u64 reason, u64 n, struct bench_run *r)
{
	u64 t0, rip;

	if (vmlaunch()) {
		r->vmfail = 1;
		return;
	}
	t0 = rdtsc();
	r->left = n;
	while (vmreadz(VM_EXIT_REASON) == reason) {
		rip = vmreadz(GUEST_RIP);
		/* As the stub: ~0 left means one exit more than n. */
		if (rip != insn || r->left-- == 0)
			break;
		vmwrite(GUEST_RIP, rip + vmreadz(VM_EXIT_INSTRUCTION_LEN));
		if (vmresume()) {
			r->vmfail = 1;
			break;
		}
	}
	r->cycles = rdtsc() - t0;
}

#define BENCH_BP_VECTOR		3

struct bench_variant {
	const char *name;
	void (*loop)(void);		/* L2's loop */
	void (*insn)(void);		/* its exiting instruction */
	u32 reason;			/* the exit reason it gives */
	bool typical;			/* MSR bitmaps and VPID */
	bool lib;			/* handler through vmresume() */
	u32 exec_ctls;			/* more primary controls */
	u32 exception_bitmap;
	u64 cr0_mask;			/* CR0 guest/host mask, if not 0 */
	void (*floor)(void);		/* L1's loop for the floor, or: */
	const char *no_floor;		/* why there is none */
};

#define BENCH_SAME_AS_CPUID	"its instruction is cpuid's, see cpuid_floor"

static const struct bench_variant variants[] = {
	{ "cpuid", bench_cpuid, bench_cpuid_insn, EXIT_REASON_CPUID, true,
	  .floor = bench_cpuid },
	{ "vmcall", bench_vmcall, bench_vmcall_insn, EXIT_REASON_VMCALL, true,
	  .floor = bench_vmcall },
	{ "io", bench_io, bench_io_insn, EXIT_REASON_IO_INSTRUCTION, true,
	  .exec_ctls = CPU_BASED_UNCOND_IO_EXITING,
	  .no_floor = "L0 takes L1's OUT to port 0x80 to userspace" },
	{ "rdmsr", bench_rdmsr, bench_rdmsr_insn, EXIT_REASON_MSR_READ, true,
	  .floor = bench_rdmsr },
	{ "cr0", bench_cr0_write, bench_cr0_write_insn, EXIT_REASON_CR_ACCESS,
	  true, .cr0_mask = ~X86_CR0_TS, .floor = bench_cr0_flip },
	{ "exception", bench_int3, bench_int3_insn, EXIT_REASON_EXCEPTION_NMI,
	  true, .exception_bitmap = BIT(BENCH_BP_VECTOR),
	  .no_floor = "L0 intercepts L1's #BP only for guest debugging" },
	{ "cpuid_lib", bench_cpuid, bench_cpuid_insn, EXIT_REASON_CPUID, true,
	  .lib = true, .no_floor = BENCH_SAME_AS_CPUID },
	{ "cpuid_plain", bench_cpuid, bench_cpuid_insn, EXIT_REASON_CPUID,
	  .no_floor = BENCH_SAME_AS_CPUID },
};

#define NR_VARIANTS	ARRAY_SIZE(variants)

/* GUEST_SYNC_ARGS(stage, variant, kind, n, arg) */
enum bench_stage { BENCH_BEGIN = 1, BENCH_END, BENCH_SKIP };
enum bench_kind { BENCH_L2, BENCH_FLOOR, NR_KINDS };

static const char *const kind_suffix[NR_KINDS] = { "", "_floor" };

/* Why L1 cannot give @v the controls it needs, or NULL. */
static const char *l1_cannot_run(const struct bench_variant *v)
{
	u32 ctls = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS) >> 32;
	u32 ctls2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;

	if ((ctls & v->exec_ctls) != v->exec_ctls)
		return "L1 is not offered unconditional I/O exiting";
	if (!v->typical)
		return NULL;
	if (!(ctls & CPU_BASED_USE_MSR_BITMAPS))
		return "L1 is not offered MSR bitmaps";
	if (!(ctls & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ||
	    !(ctls2 & SECONDARY_EXEC_ENABLE_VPID))
		return "L1 is not offered VPID";
	return NULL;
}

/* vmcs12 for @v: prepare_vmcs()'s and the variant's controls. */
static void l1_prepare(struct vmx_pages *vmx, const struct bench_variant *v)
{
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, (void *)bench_l2_entry, l2_stack + sizeof(l2_stack));
	if (v->typical) {
		vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			vmreadz(CPU_BASED_VM_EXEC_CONTROL) |
			CPU_BASED_USE_MSR_BITMAPS |
			CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
		vmwrite(SECONDARY_VM_EXEC_CONTROL,
			vmreadz(SECONDARY_VM_EXEC_CONTROL) |
			SECONDARY_EXEC_ENABLE_VPID);
		vmwrite(VIRTUAL_PROCESSOR_ID, 1);
	}
	vmwrite(CPU_BASED_VM_EXEC_CONTROL,
		vmreadz(CPU_BASED_VM_EXEC_CONTROL) | v->exec_ctls);
	vmwrite(EXCEPTION_BITMAP, v->exception_bitmap);
	if (v->cr0_mask)
		vmwrite(CR0_GUEST_HOST_MASK, v->cr0_mask);
	bench_l2_loop = v->loop;
}

/* One loop of @n round trips (or floor instructions), between two syncs. */
static void l1_measure(struct vmx_pages *vmx, int i, enum bench_kind kind,
		       u32 n)
{
	const struct bench_variant *v = &variants[i];
	struct bench_run *r = &bench_result;
	u64 t0;

	memset(r, 0, sizeof(*r));
	bench_left = n;
	if (kind == BENCH_L2)
		l1_prepare(vmx, v);
	GUEST_SYNC_ARGS(BENCH_BEGIN, (u64)i, (u64)kind, (u64)n, 0ul);
	if (kind == BENCH_FLOOR) {
		t0 = rdtsc();
		v->floor();
		r->cycles = rdtsc() - t0;
		r->left = bench_left;
	} else if (v->lib) {
		bench_run_lib((u64)v->insn, v->reason, n, r);
	} else {
		bench_run_minimal((u64)v->insn, v->reason, n, r);
	}
	if (kind == BENCH_L2) {
		r->exit_reason = vmreadz(r->vmfail ? VM_INSTRUCTION_ERROR :
					 VM_EXIT_REASON);
		r->exit_rip = vmreadz(GUEST_RIP);
	}
	GUEST_SYNC_ARGS(BENCH_END, (u64)i, (u64)kind, (u64)n, 0ul);
}

static void l1_guest_code(struct vmx_pages *vmx)
{
	const char *why;
	u64 cr0 = get_cr0();
	u32 rep;
	int i;

	/* The floors, before VMXON: L1 as a plain guest. */
	for (i = 0; i < NR_VARIANTS; i++) {
		if (!variants[i].floor)
			continue;
		l1_measure(vmx, i, BENCH_FLOOR, 0);	/* the warm-up */
		for (rep = 0; rep < bench_r; rep++) {
			l1_measure(vmx, i, BENCH_FLOOR, 0);
			l1_measure(vmx, i, BENCH_FLOOR, bench_n);
			/* Undo an odd number of MP flips. */
			asm volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
		}
	}

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	((u8 *)vmx->msr)[MSR_IA32_CR_PAT / 8] |= BIT(MSR_IA32_CR_PAT % 8);
	bench_cr0 = get_cr0() ^ X86_CR0_MP;
	for (i = 0; i < NR_VARIANTS; i++) {
		why = l1_cannot_run(&variants[i]);
		if (why) {
			GUEST_SYNC_ARGS(BENCH_SKIP, (u64)i, 0ul, 0ul, (u64)why);
			continue;
		}
		l1_measure(vmx, i, BENCH_L2, 0);	/* the warm-up */
		for (rep = 0; rep < bench_r; rep++) {
			l1_measure(vmx, i, BENCH_L2, 0);
			l1_measure(vmx, i, BENCH_L2, bench_n);
		}
	}
	GUEST_DONE();
}

/* The vCPU statistics a loop is charged with. */
struct bench_stats {
	u64 exits, irq_exits, tlb_flush, req_event;
};

static void read_stats(struct kvm_vcpu *vcpu, struct bench_stats *s)
{
	s->exits = nvmx_vcpu_stat(vcpu, "exits");
	s->irq_exits = nvmx_vcpu_stat(vcpu, "irq_exits");
	s->tlb_flush = nvmx_vcpu_stat(vcpu, "tlb_flush");
	s->req_event = nvmx_vcpu_stat(vcpu, "req_event");
}

static void stats_sub(struct bench_stats *a, const struct bench_stats *b)
{
	a->exits -= b->exits;
	a->irq_exits -= b->irq_exits;
	a->tlb_flush -= b->tlb_flush;
	a->req_event -= b->req_event;
}

/* The host's record of one variant. */
struct bench_host {
	const char *skip;		/* why L1 skipped it */
	char fail[200];			/* the first thing that went wrong */
	u32 runs;			/* runs of N round trips */
	struct bench_stats begin;	/* at the last BENCH_BEGIN */
	struct bench_stats zero[NR_KINDS];	/* of the last run of 0 */
	u64 zero_cycles[NR_KINDS];
};

static struct bench_host hosts[NR_VARIANTS];

/* Was the loop L1 just ran what it should be?  Record it if not. */
static bool check_run(struct bench_host *h, const struct bench_variant *v,
		      const struct bench_run *r, enum bench_kind kind, u32 n)
{
	if (h->fail[0])
		return false;
	if (kind == BENCH_L2 && r->vmfail)
		snprintf(h->fail, sizeof(h->fail),
			 "%u round trips: VMLAUNCH/VMRESUME failed, VM-instruction error %lu",
			 n, r->exit_reason);
	else if (kind == BENCH_L2 && (r->exit_reason != EXIT_REASON_VMCALL ||
				      r->exit_rip != (u64)bench_l2_end))
		snprintf(h->fail, sizeof(h->fail),
			 "%u round trips: exit reason %lu at %#lx after %lu, expected %u at %#lx, then %u at %#lx",
			 n, r->exit_reason, r->exit_rip, n - r->left,
			 v->reason, (u64)v->insn, EXIT_REASON_VMCALL,
			 (u64)bench_l2_end);
	else if (r->left)
		snprintf(h->fail, sizeof(h->fail),
			 "%u round trips: the loop ended after %ld",
			 n, (long)(n - r->left));
	return !h->fail[0];
}

/* A loop ended: check it, and for N round trips print what it cost. */
static void host_end(struct kvm_vcpu *vcpu, int i, enum bench_kind kind,
		     u32 n)
{
	const struct bench_variant *v = &variants[i];
	struct bench_host *h = &hosts[i];
	const char *sfx = kind_suffix[kind];
	struct bench_stats d;
	s64 cycles;

	read_stats(vcpu, &d);
	stats_sub(&d, &h->begin);
	sync_global_from_guest(vcpu->vm, bench_result);
	if (!check_run(h, v, &bench_result, kind, n))
		return;
	if (!n) {
		h->zero[kind] = d;
		h->zero_cycles[kind] = bench_result.cycles;
		return;
	}
	stats_sub(&d, &h->zero[kind]);
	cycles = bench_result.cycles - h->zero_cycles[kind];
	h->runs += kind == BENCH_L2;
	ksft_print_msg("nvmx-bench %s%s %ld\n", v->name, sfx, cycles / n);
	ksft_print_msg("nvmx-bench %s%s_l0_exits_per_rt %.2f\n", v->name, sfx,
		       (double)(s64)(d.exits - d.irq_exits) / n);
	if (kind == BENCH_FLOOR)
		return;
	ksft_print_msg("nvmx-bench %s_tlb_flush_per_1k %.0f\n", v->name,
		       (double)(s64)d.tlb_flush * 1000 / n);
	ksft_print_msg("nvmx-bench %s_req_event_per_1k %.0f\n", v->name,
		       (double)(s64)d.req_event * 1000 / n);
}

static void report(void)
{
	const struct bench_variant *v;
	struct bench_host *h;
	int i;

	for (i = 0; i < NR_VARIANTS; i++) {
		v = &variants[i];
		h = &hosts[i];
		if (h->fail[0])
			ksft_test_result_fail("%s: %s\n", v->name, h->fail);
		else if (h->skip)
			ksft_test_result_skip("%s: %s\n", v->name, h->skip);
		else if (h->runs != bench_r)
			ksft_test_result_fail("%s: %u of %u runs\n", v->name,
					      h->runs, bench_r);
		else
			ksft_test_result_pass("%s: %u x %u exits, reason %u\n",
					      v->name, bench_r, bench_n,
					      v->reason);
	}
}

static void bench_usage(const char *prog)
{
	printf("usage: %s [-n ROUND_TRIPS] [-r RUNS]\n", prog);
	exit(KSFT_FAIL);
}

/* A count for -n or -r: 1 to 2^32 - 1. */
static u32 parse_count(const char *arg, const char *prog)
{
	unsigned long v;
	char *end;

	v = strtoul(arg, &end, 0);
	if (end == arg || *end || !v || v > UINT32_MAX)
		bench_usage(prog);
	return v;
}

int main(int argc, char *argv[])
{
	vm_vaddr_t vmx_gva;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	u64 i, kind;
	int opt;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			bench_n = parse_count(optarg, argv[0]);
		else if (opt == 'r')
			bench_r = parse_count(optarg, argv[0]);
		else
			bench_usage(argv[0]);
	}
	if (optind != argc)
		bench_usage(argv[0]);

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);
	sync_global_to_guest(vm, bench_n);
	sync_global_to_guest(vm, bench_r);

	ksft_print_header();
	ksft_set_plan(NR_VARIANTS);
	ksft_print_msg("nvmx-bench-config n=%u r=%u\n", bench_n, bench_r);
	for (i = 0; i < NR_VARIANTS; i++)
		if (variants[i].no_floor)
			ksft_print_msg("%s: no floor: %s\n", variants[i].name,
				       variants[i].no_floor);

	for (;;) {
		switch (nvmx_run_to_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			i = uc.args[2];
			kind = uc.args[3];
			TEST_ASSERT(i < NR_VARIANTS && kind < NR_KINDS,
				    "variant %lu, kind %lu", i, kind);
			if (uc.args[1] == BENCH_BEGIN)
				read_stats(vcpu, &hosts[i].begin);
			else if (uc.args[1] == BENCH_END)
				host_end(vcpu, i, kind, uc.args[4]);
			else
				hosts[i].skip = (const char *)uc.args[5];
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_2(uc, "values: %#lx, %#lx");
			break;
		case UCALL_DONE:
			goto done;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
done:
	kvm_vm_free(vm);
	report();
	ksft_finished();
	return 0;
}
