// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_evmcs_test: what evmcs_test does not check exactly of Hyper-V's
 * enlightened VMCS (Hyper-V TLFS, "Nested Virtualization", Enlightened
 * VMCS (Intel)) for L1.
 *
 *   clean_fields   a control L1 changes in the eVMCS with its group's bit
 *                  set in hv_clean_fields is not taken by VMRESUME (L0 may
 *                  keep its copy, and both modules do); written again
 *                  with the bit cleared, it is;
 *   exit_fields    an exit writes the exit information and L2's RIP into
 *                  the eVMCS, and leaves a control L1 changed alone;
 *   bad_version    an eVMCS whose version is not 1: VMfailInvalid;
 *   no_enlighten   enlighten_vmentry 0 in the VP assist page: no current
 *                  VMCS, VMfailInvalid;
 *   no_assist_page the VP assist page disabled: likewise;
 *   outside_memory an eVMCS address outside L1's memory: #UD, as with the
 *                  stock module;
 *   vmread         VMREAD with an eVMCS current reads the eVMCS, as the
 *                  stock module allows for Windows guests (the TLFS calls
 *                  it unsupported); VMWRITE fails with VMfailInvalid;
 *   vmclear_inactive VMCLEAR of an eVMCS not current writes nothing into
 *                  it, and the current one stays current;
 *   two_evmcs      the VP assist page names another eVMCS between entries:
 *                  VMLAUNCH runs the other L2 from it and writes its exit
 *                  there alone; named again, the first is taken whole
 *                  (every clean bit set), not the fields the other left;
 *   vmptrst        VMPTRST (raw) with an eVMCS current stores FFFFFFFF_
 *                  FFFFFFFFH, VMsucceed: the eVMCS replaced the current
 *                  VMCS, and none was made current by VMPTRLD (SDM 30.3);
 *   controls       the controls the eVMCS has no field for (evmcs.c):
 *                  gone from the capability MSRs L1 reads, exactly; with
 *                  the eVMCS, and with a normal VMCS of that L1, VM entry
 *                  refuses one the unfiltered MSR allows (VMfailValid 7);
 *   revision_restore L1 changes the eVMCS's version after it became
 *                  current, the vCPU is saved and restored: L2 goes on
 *                  (TLFS: the version is checked when the page becomes
 *                  current, and the source did not check it again);
 *   restore_orders saved and restored in VMX root operation and in L2,
 *                  with the VP assist page (and every MSR but the VMX
 *                  capabilities) set after KVM_SET_NESTED_STATE, as QEMU
 *                  does, and before it, as the selftest library does: the
 *                  eVMCS keeps what L1 wrote and what the exits wrote;
 *   memslot        the memslot holding the eVMCS is deleted and re-created
 *                  at the same address (other host memory, same contents)
 *                  while L2 runs, then while L1 runs: the exit's fields
 *                  land in the page L1 sees, and VMRESUME takes L1's
 *                  change from it;
 *   memslot_gone   the eVMCS's memslot is deleted while L2 runs and added
 *                  again only after KVM_RUN failed: the exit to L1 ends
 *                  KVM_RUN with an internal error (L1 would read no exit
 *                  information), and the next KVM_RUN writes the exit
 *                  reason into the page at the address again;
 *   vmcs_loads     VMCS loads (kprobe on vmx_vcpu_load_vmcs) per round trip
 *                  L1 -> L2 -> L1 with an eVMCS: exactly 2, one each way;
 *   smm            an SMI in L2 with an eVMCS: in SMM, the nested state
 *                  says eVMCS, VMX operation and L2 put aside, and the
 *                  eVMCS holds the last exit's fields; saved and restored
 *                  there, RSM returns to L2, whose next exit L1 reads in
 *                  the eVMCS;
 *   state_einval   KVM_SET_NESTED_STATE with the eVMCS flag is refused
 *                  without the capability enabled, without vmcs12, and, as
 *                  the current VMCS, on a vCPU without Hyper-V's CPUID
 *                  (which could not have had an eVMCS);
 *   state_evmcs_vmcs12_pa the eVMCS flag beside a vmcs12_pa, its meaning
 *                  of old ("eVMCS enabled"): a normal current VMCS, as the
 *                  stock module takes it; KVM_GET_NESTED_STATE then has no
 *                  eVMCS flag.
 *
 * Each case is a TAP line; the host prints what L1 found when it differs.
 * A case where the stock module is known to deviate with exactly the value
 * recorded here is XFAIL with the stock module, FAIL with nvmx (or with
 * NVMX_STRICT=1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/time.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "nvmx_module.h"

enum {
	CASE_CLEAN_FIELDS,
	CASE_EXIT_FIELDS,
	CASE_BAD_VERSION,
	CASE_NO_ENLIGHTEN,
	CASE_NO_ASSIST_PAGE,
	CASE_OUTSIDE_MEMORY,
	CASE_VMREAD,
	CASE_VMCLEAR_INACTIVE,
	CASE_TWO_EVMCS,
	CASE_VMPTRST,
	CASE_CONTROLS,
	CASE_REVISION_RESTORE,
	CASE_RESTORE_ORDERS,
	CASE_MEMSLOT,
	CASE_MEMSLOT_GONE,
	CASE_VMCS_LOADS,
	CASE_SMM,
	CASE_STATE_EINVAL,	/* the host's */
	CASE_STATE_EVMCS_VMCS12_PA,	/* the host's */
	NR_CASES
};

static const char *const case_names[NR_CASES] = {
	"clean_fields", "exit_fields", "bad_version", "no_enlighten",
	"no_assist_page", "outside_memory", "vmread", "vmclear_inactive",
	"two_evmcs", "vmptrst", "controls", "revision_restore",
	"restore_orders", "memslot", "memslot_gone", "vmcs_loads", "smm", "state_einval",
	"state_evmcs_vmcs12_pa",
};

/* L1 to host: GUEST_SYNC_ARGS(kind, ...) */
enum {
	MSG_MISMATCH = 1,	/* what, expected, actual */
	MSG_CASE_END,		/* case, ok */
	MSG_ACTION,		/* action, parameter: the host acts, L1 goes on */
	MSG_STOCK,		/* what, expected, actual: stock's deviation */
};

enum {
	ACT_SAVE_RESTORE,	/* into a new VM, in the order of the parameter */
	ACT_VMPTRST_ARM,	/* a timer in case VMPTRST never completes */
	ACT_VMPTRST_DISARM,
	ACT_MEMSLOT_SWAP,	/* the eVMCS's memslot: other memory, same bytes */
	ACT_COUNT,		/* the kprobe's count at mark 0, 1 or 2 */
	ACT_SMI,		/* an SMI pending for the vCPU */
	ACT_MEMSLOT_GONE,	/* the eVMCS's memslot deleted */
	ACT_MEMSLOT_BACK,	/* and added again, if it is not yet */
};

enum {
	ORDER_QEMU,	/* sregs, VMX MSRs, nested state, the rest, MSRs after */
	ORDER_LIB,	/* vcpu_load_state(): MSRs first, nested state last */
};

#define EXIT_REASON_RDTSC_NR	16
#define EXIT_REASON_VMCALL_NR	18
#define VMXERR_INVALID_CONTROL	7
#define F_CF			0x1ull
#define F_ZF			0x40ull
/* A guest-physical address no memslot of the VM holds, page aligned */
#define GPA_OUTSIDE		0xdead0000ull
/* A value no exit writes into a field */
#define SENTINEL		0x5a5a5a5aull

/* The eVMCS page of the memslot case: a memslot of its own, L1 maps it 1:1 */
#define EVMCS_SLOT		2
#define EVMCS_SLOT_GPA		0x2000000ull

/* SMRAM: address space 1; the SMI handler reports on SMM_PORT, then RSM */
#define SMRAM_SLOT		((1 << 16) | 1)
#define SMRAM_GPA		0x1000000ull
#define SMRAM_PAGES		16
#define SMM_PORT		0x99
#define SMM_STAGE		0x5e

/* The controls an eVMCS v1 has no field for (6.1's evmcs.h, the TLFS) */
#define EVMCS1_UNSUPPORTED_PIN	(PIN_BASED_POSTED_INTR |		\
				 PIN_BASED_VMX_PREEMPTION_TIMER)
#define EVMCS1_UNSUPPORTED_2ND	(SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY |	\
				 SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | \
				 SECONDARY_EXEC_APIC_REGISTER_VIRT |	\
				 SECONDARY_EXEC_ENABLE_PML |		\
				 SECONDARY_EXEC_ENABLE_VMFUNC |		\
				 SECONDARY_EXEC_SHADOW_VMCS |		\
				 SECONDARY_EXEC_TSC_SCALING |		\
				 SECONDARY_EXEC_PAUSE_LOOP_EXITING)
#define EVMCS1_UNSUPPORTED_EXIT	VM_EXIT_SAVE_VMX_PREEMPTION_TIMER

#define NR_TRIPS		20	/* vmcs_loads: round trips per count */
#define NR_REPS			3	/* ... and counts, the least taken */

/* Set by the host before L1 runs */
static bool strict;			/* no stock deviation accepted */
static struct {
	u32 msr;
	u64 value;	/* as the VMM reads it: not filtered */
	u32 unsupported;	/* allowed-1 bits an eVMCS L1 must not see */
} caps[] = {
	{ MSR_IA32_VMX_PINBASED_CTLS, 0, EVMCS1_UNSUPPORTED_PIN },
	{ MSR_IA32_VMX_TRUE_PINBASED_CTLS, 0, EVMCS1_UNSUPPORTED_PIN },
	{ MSR_IA32_VMX_PROCBASED_CTLS2, 0, EVMCS1_UNSUPPORTED_2ND },
	{ MSR_IA32_VMX_EXIT_CTLS, 0, EVMCS1_UNSUPPORTED_EXIT },
	{ MSR_IA32_VMX_TRUE_EXIT_CTLS, 0, EVMCS1_UNSUPPORTED_EXIT },
	{ MSR_IA32_VMX_ENTRY_CTLS, 0, 0 },
	{ MSR_IA32_VMX_TRUE_ENTRY_CTLS, 0, 0 },
};

/* Set by the host while L1 runs */
static int vmptrst_stuck;	/* VMPTRST never completed: the host skipped it */

static int ud_count;

static void l1_ud_handler(struct ex_regs *regs)
{
	ud_count++;
	regs->rip += 3;		/* VMLAUNCH */
}

/* L2: RDTSC then VMCALL, forever; L1 resumes it past each exit. */
static void l2_guest_code(void)
{
	for (;;) {
		asm volatile("rdtsc" ::: "rax", "rdx");
		vmcall();
	}
}

/*
 * Where L2's next exiting instruction is, noted by L2 itself.  An exit to
 * L1 and back leaves L2 the GPRs L1 had: everything but RSP and RBP is
 * clobbered.
 */
static u64 l2_rip;

#define L2_NOTED_ASM(insn)						\
	"push %%rbp\n\t"						\
	"lea 1f(%%rip), %%rax\n\t"					\
	"mov %%rax, %0\n"						\
	"1:\t" insn "\n\t"						\
	"pop %%rbp"

#define L2_CLOBBERS	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", \
			"r10", "r11", "r12", "r13", "r14", "r15", "memory"

static __always_inline void l2_vmcall_noted(void)
{
	asm volatile(L2_NOTED_ASM("vmcall") : "=m"(l2_rip) : : L2_CLOBBERS);
}

static __always_inline void l2_rdtsc_noted(void)
{
	asm volatile(L2_NOTED_ASM("rdtsc") : "=m"(l2_rip) : : L2_CLOBBERS);
}

/* restore_orders: saved and restored in L2, in each order */
static void l2_restore_code(void)
{
	l2_vmcall_noted();
	GUEST_SYNC_ARGS(MSG_ACTION, ACT_SAVE_RESTORE, ORDER_QEMU, 0, 0);
	GUEST_SYNC_ARGS(MSG_ACTION, ACT_SAVE_RESTORE, ORDER_LIB, 0, 0);
	l2_vmcall_noted();
	l2_guest_code();
}

/* memslot: the eVMCS's memslot changes while L2 runs */
static void l2_memslot_code(void)
{
	GUEST_SYNC_ARGS(MSG_ACTION, ACT_MEMSLOT_SWAP, 0, 0, 0);
	l2_guest_code();
}

/* memslot_gone: the eVMCS's memslot goes while L2 runs */
static void l2_memslot_gone_code(void)
{
	GUEST_SYNC_ARGS(MSG_ACTION, ACT_MEMSLOT_GONE, 0, 0, 0);
	l2_guest_code();
}

/* smm: an SMI arrives after the sync; RDTSC exits after RSM */
static void l2_smm_code(void)
{
	l2_vmcall_noted();
	GUEST_SYNC_ARGS(MSG_ACTION, ACT_SMI, 0, 0, 0);
	l2_rdtsc_noted();
	l2_guest_code();
}

/*
 * VMLAUNCH (@launch) or VMRESUME with the eVMCS current_evmcs names, host
 * RSP and RIP written into it first: 0 after a VM exit, otherwise the
 * RFLAGS of the VMfail (bit 1 is always set) or of the instruction after
 * a #UD.
 */
static u64 evmcs_enter(int launch)
{
	u64 ret;

	current_evmcs->hv_clean_fields &=
		~(HV_VMX_ENLIGHTENED_CLEAN_FIELD_HOST_GRP1 |
		  HV_VMX_ENLIGHTENED_CLEAN_FIELD_HOST_POINTER);
	asm volatile("lea -128(%%rsp), %%rsp\n\t"	/* the red zone */
		     "push %%rbp\n\t"
		     "push %%rcx\n\t"
		     "push %%rdx\n\t"
		     "push %%rsi\n\t"
		     "push %%rdi\n\t"
		     "push $0\n\t"
		     "mov %%rsp, (%[host_rsp])\n\t"
		     "lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, (%[host_rip])\n\t"
		     "test %%ebx, %%ebx\n\t"
		     "jz 2f\n\t"
		     "vmlaunch\n\t"
		     "jmp 3f\n"
		     "2:\tvmresume\n"
		     "3:\tpushf\n\t"
		     "pop %%rax\n\t"
		     "mov %%rax, (%%rsp)\n"
		     "1:\tpop %%rax\n\t"
		     "pop %%rdi\n\t"
		     "pop %%rsi\n\t"
		     "pop %%rdx\n\t"
		     "pop %%rcx\n\t"
		     "pop %%rbp\n\t"
		     "lea 128(%%rsp), %%rsp"
		     : "=&a"(ret), "+b"(launch)
		     : [host_rsp] "r"(&current_evmcs->host_rsp),
		       [host_rip] "r"(&current_evmcs->host_rip)
		     : "memory", "cc", "r8", "r9", "r10", "r11", "r12", "r13",
		       "r14", "r15");
	return ret;
}

static int nr_mismatch;

static void check(const char *what, u64 expected, u64 actual)
{
	if (expected == actual)
		return;
	nr_mismatch++;
	GUEST_SYNC_ARGS(MSG_MISMATCH, what, expected, actual, 0);
}

/*
 * A check where the stock module is known to deviate with exactly the
 * value @stock: XFAIL for it, a mismatch for nvmx.
 */
static void check_known(const char *what, u64 expected, u64 actual,
			u64 stock)
{
	if (expected != actual && actual == stock && !READ_ONCE(strict)) {
		GUEST_SYNC_ARGS(MSG_STOCK, what, expected, actual, 0);
		return;
	}
	check(what, expected, actual);
}

static void case_end(int i)
{
	GUEST_SYNC_ARGS(MSG_CASE_END, i, !nr_mismatch, 0, 0);
	nr_mismatch = 0;
}

static void host_action(u64 action, u64 param)
{
	GUEST_SYNC_ARGS(MSG_ACTION, action, param, 0, 0);
}

/*
 * A fresh eVMCS with L2 ready at @code on @stack, launched to its first
 * VMCALL.
 */
static void launch_l2_code(struct vmx_pages *vmx, void *code, void *stack)
{
	memset(vmx->enlightened_vmcs, 0, 4096);
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, code, stack);
	/* prepare_vmcs() enables no RDTSC exiting */
	check("VMLAUNCH", 0, evmcs_enter(1));
	check("exit reason at launch", EXIT_REASON_VMCALL_NR,
	      current_evmcs->vm_exit_reason);
}

static unsigned long l2_stack[256];

static void launch_l2(struct vmx_pages *vmx)
{
	launch_l2_code(vmx, l2_guest_code, &l2_stack[ARRAY_SIZE(l2_stack)]);
}

/* Past the VMCALL L2 exited on, with every clean bit set: VMRESUME. */
static u64 resume_past_vmcall(void)
{
	current_evmcs->guest_rip += 3;
	return evmcs_enter(0);
}

static void case_clean_fields(struct vmx_pages *vmx)
{
	launch_l2(vmx);
	current_evmcs->hv_clean_fields = HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL;
	current_evmcs->cpu_based_vm_exec_control |= CPU_BASED_RDTSC_EXITING;
	check("VMRESUME, control clean", 0, resume_past_vmcall());
	check("exit reason, RDTSC exiting marked clean",
	      EXIT_REASON_VMCALL_NR, current_evmcs->vm_exit_reason);

	/*
	 * Changing a field under a clean bit is L1's error (TLFS): the exit
	 * may have written the field back (the stock module writes the
	 * processor-based controls at every exit).  Write it again, dirty.
	 */
	current_evmcs->cpu_based_vm_exec_control |= CPU_BASED_RDTSC_EXITING;
	current_evmcs->hv_clean_fields &=
		~HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_PROC;
	check("VMRESUME, control dirty", 0, resume_past_vmcall());
	check("exit reason, RDTSC exiting marked dirty",
	      EXIT_REASON_RDTSC_NR, current_evmcs->vm_exit_reason);
	case_end(CASE_CLEAN_FIELDS);
}

static void case_exit_fields(struct vmx_pages *vmx)
{
	u64 rip;

	launch_l2(vmx);
	rip = current_evmcs->guest_rip;
	current_evmcs->vm_exit_reason = 0;
	current_evmcs->exception_bitmap = 1u << 3;	/* #BP, L2 has none */
	current_evmcs->hv_clean_fields = HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL &
		~HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_EXCPN;
	check("VMRESUME", 0, resume_past_vmcall());
	check("exit reason written", EXIT_REASON_VMCALL_NR,
	      current_evmcs->vm_exit_reason);
	check("instruction length written", 3,
	      current_evmcs->vm_exit_instruction_len);
	check("guest RIP saved: the same VMCALL", rip,
	      current_evmcs->guest_rip);
	check("exception bitmap left as L1 wrote it", 1u << 3,
	      current_evmcs->exception_bitmap);
	case_end(CASE_EXIT_FIELDS);
}

static void case_bad_version(struct vmx_pages *vmx)
{
	u64 flags;

	launch_l2(vmx);
	/* VMCLEAR makes it inactive; the version counts when it is found again */
	check("VMCLEAR", 0, vmclear(vmx->enlightened_vmcs_gpa));
	current_evmcs->revision_id = 2;
	flags = evmcs_enter(1);
	check("VMfailInvalid (CF)", F_CF, flags & (F_CF | F_ZF));
	current_evmcs->revision_id = EVMCS_VERSION;
	case_end(CASE_BAD_VERSION);
}

static void case_no_enlighten(struct vmx_pages *vmx)
{
	launch_l2(vmx);
	current_vp_assist->enlighten_vmentry = 0;
	check("VMfailInvalid (CF)", F_CF, evmcs_enter(0) & (F_CF | F_ZF));
	current_vp_assist->enlighten_vmentry = 1;
	case_end(CASE_NO_ENLIGHTEN);
}

static void case_no_assist_page(struct vmx_pages *vmx)
{
	launch_l2(vmx);
	wrmsr(HV_X64_MSR_VP_ASSIST_PAGE, 0);
	check("VMfailInvalid (CF)", F_CF, evmcs_enter(0) & (F_CF | F_ZF));
	enable_vp_assist(vmx->vp_assist_gpa, vmx->vp_assist);
	case_end(CASE_NO_ASSIST_PAGE);
}

static void case_outside_memory(struct vmx_pages *vmx)
{
	launch_l2(vmx);
	current_vp_assist->current_nested_vmcs = GPA_OUTSIDE;
	WRITE_ONCE(ud_count, 0);
	evmcs_enter(1);
	/* the #UD handler counted behind the compiler's back */
	check("#UD", 1, READ_ONCE(ud_count));
	current_vp_assist->current_nested_vmcs = vmx->enlightened_vmcs_gpa;
	case_end(CASE_OUTSIDE_MEMORY);
}

static void case_vmread(struct vmx_pages *vmx)
{
	u64 value = 0, flags;

	launch_l2(vmx);
	current_evmcs->guest_rip += 3;
	asm volatile("vmread %[enc], %[val]\n\t"
		     "pushf\n\t"
		     "pop %[flags]"
		     : [val] "=r"(value), [flags] "=r"(flags)
		     : [enc] "r"((u64)GUEST_RIP) : "cc");
	check("VMREAD: VMsucceed", 0, flags & (F_CF | F_ZF));
	check("VMREAD: the eVMCS's guest RIP", current_evmcs->guest_rip,
	      value);
	asm volatile("vmwrite %[val], %[enc]\n\t"
		     "pushf\n\t"
		     "pop %[flags]"
		     : [flags] "=r"(flags)
		     : [enc] "r"((u64)GUEST_RIP), [val] "r"(0ull) : "cc");
	check("VMWRITE: VMfailInvalid (CF)", F_CF, flags & (F_CF | F_ZF));
	check("VMWRITE: eVMCS unchanged", value, current_evmcs->guest_rip);
	case_end(CASE_VMREAD);
}

/*
 * TLFS: VMCLEAR of an eVMCS that is not the current one makes it
 * inactive and writes nothing into it (an eVMCS has no launch state; the
 * VMCS's would land on its host ES and CS selectors, bytes 8-11).  The
 * shadow-VMCS page stands in for a second eVMCS; the current one still
 * runs L2.
 */
static void case_vmclear_inactive(struct vmx_pages *vmx)
{
	u32 *selectors = (u32 *)((u8 *)vmx->shadow_vmcs + 8);
	u64 flags;

	launch_l2(vmx);
	WRITE_ONCE(*selectors, 0x00100008);
	asm volatile("vmclear %[gpa]\n\t"
		     "pushf\n\t"
		     "pop %[flags]"
		     : [flags] "=r"(flags)
		     : [gpa] "m"(vmx->shadow_vmcs_gpa) : "cc", "memory");
	check("VMCLEAR: VMsucceed", 0, flags & (F_CF | F_ZF));
	check("VMCLEAR: the host selectors as written", 0x00100008,
	      READ_ONCE(*selectors));
	check("VMRESUME of the current eVMCS", 0, resume_past_vmcall());
	case_end(CASE_VMCLEAR_INACTIVE);
}

/*
 * Eve (the shadow-VMCS page) runs a second L2 on a stack of its own, with
 * RDTSC exiting; Adam (the usual eVMCS) keeps the first one, without.
 */
static void case_two_evmcs(struct vmx_pages *vmx)
{
	static unsigned long eve_stack[64];
	struct hv_enlightened_vmcs *adam = vmx->enlightened_vmcs;
	struct hv_enlightened_vmcs *eve = vmx->shadow_vmcs;
	u64 adam_rip;

	launch_l2(vmx);
	adam_rip = adam->guest_rip;

	memset(eve, 0, 4096);
	evmcs_vmptrld(vmx->shadow_vmcs_gpa, eve);
	eve->revision_id = EVMCS_VERSION;
	prepare_vmcs(vmx, l2_guest_code, &eve_stack[ARRAY_SIZE(eve_stack)]);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL,
		vmreadz(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_RDTSC_EXITING);
	check("VMLAUNCH of the second eVMCS", 0, evmcs_enter(1));
	check("its exit, in it: RDTSC", EXIT_REASON_RDTSC_NR,
	      eve->vm_exit_reason);
	check("the first eVMCS's exit reason untouched", EXIT_REASON_VMCALL_NR,
	      adam->vm_exit_reason);
	check("the first eVMCS's guest RIP untouched", adam_rip,
	      adam->guest_rip);

	/* Named again, with every clean bit set: taken whole all the same */
	evmcs_vmptrld(vmx->enlightened_vmcs_gpa, adam);
	adam->hv_clean_fields = HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL;
	check("VMRESUME of the first eVMCS", 0, resume_past_vmcall());
	check("its L2 without RDTSC exiting: VMCALL", EXIT_REASON_VMCALL_NR,
	      adam->vm_exit_reason);
	check("at the same VMCALL", adam_rip, adam->guest_rip);
	check("the second eVMCS's exit reason untouched",
	      EXIT_REASON_RDTSC_NR, eve->vm_exit_reason);
	case_end(CASE_TWO_EVMCS);
}

/*
 * VMPTRST m64 at a fixed address and of a fixed length (0F C7 /7 with
 * (%rdi): 3 bytes), so that the host can step over it.  RFLAGS after it.
 */
extern char nvmx_evmcs_vmptrst_insn[];

static noinline u64 do_vmptrst(u64 *dst)
{
	u64 flags;

	asm volatile(".global nvmx_evmcs_vmptrst_insn\n"
		     "nvmx_evmcs_vmptrst_insn:\n\t"
		     "vmptrst (%%rdi)\n\t"
		     "pushf\n\t"
		     "pop %[flags]"
		     : [flags] "=r"(flags) : "D"(dst) : "cc", "memory");
	return flags;
}

static void case_vmptrst(struct vmx_pages *vmx)
{
	u64 stored = SENTINEL, flags;

	launch_l2(vmx);
	host_action(ACT_VMPTRST_ARM, 0);
	flags = do_vmptrst(&stored);
	host_action(ACT_VMPTRST_DISARM, 0);
	/* The stock module's VMPTRST never completes: the host skipped it */
	if (!READ_ONCE(vmptrst_stuck)) {
		check("VMPTRST: VMsucceed", 0, flags & (F_CF | F_ZF));
		check("VMPTRST: FFFFFFFF_FFFFFFFFH, no current VMCS", ~0ull,
		      stored);
	}
	check("VMRESUME after VMPTRST", 0, resume_past_vmcall());
	case_end(CASE_VMPTRST);
}

/*
 * A secondary control the eVMCS has no field for, allowed by the
 * unfiltered capability MSR, that needs no other field: 0 if none.
 */
static u32 evmcs_unsupported_secondary(void)
{
	static const u32 candidates[] = {
		SECONDARY_EXEC_TSC_SCALING, SECONDARY_EXEC_PAUSE_LOOP_EXITING,
		SECONDARY_EXEC_ENABLE_VMFUNC,
	};
	u32 allowed1 = caps[2].value >> 32;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(candidates); i++)
		if (allowed1 & candidates[i])
			return candidates[i];
	return 0;
}

static void set_secondary(u32 control)
{
	vmwrite(CPU_BASED_VM_EXEC_CONTROL,
		vmreadz(CPU_BASED_VM_EXEC_CONTROL) |
		CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	vmwrite(SECONDARY_VM_EXEC_CONTROL,
		vmreadz(SECONDARY_VM_EXEC_CONTROL) | control);
}

static void case_controls(struct vmx_pages *vmx)
{
	u32 control = evmcs_unsupported_secondary();
	unsigned int i;
	u64 flags;

	/* vmx.c's filter (evmcs.c): the allowed-1 bits, exactly */
	for (i = 0; i < ARRAY_SIZE(caps); i++)
		check("capability MSR as an eVMCS L1 reads it",
		      caps[i].value & ~((u64)caps[i].unsupported << 32),
		      rdmsr(caps[i].msr));

	if (!control) {
		case_end(CASE_CONTROLS);
		return;
	}

	/* The eVMCS: VMfailValid, the error number in the eVMCS */
	memset(vmx->enlightened_vmcs, 0, 4096);
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_guest_code, &l2_stack[ARRAY_SIZE(l2_stack)]);
	set_secondary(control);
	flags = evmcs_enter(1);
	check("eVMCS: VMfailValid (ZF)", F_ZF, flags & (F_CF | F_ZF));
	check("eVMCS: VM-instruction error", VMXERR_INVALID_CONTROL,
	      current_evmcs->vm_instruction_error);

	/*
	 * A normal VMCS of the same L1, made current after VMCLEAR of the
	 * eVMCS (the stock module never completes a VMPTRLD while an eVMCS
	 * is current): the MSRs L1 read reserve the control all the same.
	 */
	check("VMCLEAR of the eVMCS", 0, vmclear(vmx->enlightened_vmcs_gpa));
	current_vp_assist->enlighten_vmentry = 0;
	enable_evmcs = false;
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_guest_code, &l2_stack[ARRAY_SIZE(l2_stack)]);
	set_secondary(control);
	check("VMCS: VMLAUNCH fails", 1, !!vmlaunch());
	check("VMCS: VM-instruction error", VMXERR_INVALID_CONTROL,
	      vmreadz(VM_INSTRUCTION_ERROR));
	check("VMCLEAR of the VMCS", 0, vmclear(vmx->vmcs_gpa));
	enable_evmcs = true;
	current_vp_assist->enlighten_vmentry = 1;
	case_end(CASE_CONTROLS);
}

/*
 * TLFS: the version is checked when the eVMCS becomes current; L1 then
 * scribbles over it (the source goes on as before) and the vCPU moves.
 * The stock module checks it again on the destination and fails KVM_RUN
 * with an internal error (the host records it, and puts the version
 * back so that L1 can go on).
 */
static void case_revision_restore(struct vmx_pages *vmx)
{
	launch_l2(vmx);
	current_evmcs->revision_id = 0xbad;
	check("VMRESUME before the move", 0, resume_past_vmcall());
	host_action(ACT_SAVE_RESTORE, ORDER_QEMU);
	check("VMRESUME after the move", 0, resume_past_vmcall());
	check("its exit, in the eVMCS", EXIT_REASON_VMCALL_NR,
	      current_evmcs->vm_exit_reason);
	current_evmcs->revision_id = EVMCS_VERSION;
	case_end(CASE_REVISION_RESTORE);
}

static void case_restore_orders(struct vmx_pages *vmx)
{
	u64 rip;

	launch_l2_code(vmx, l2_restore_code, &l2_stack[ARRAY_SIZE(l2_stack)]);
	rip = l2_rip;
	check("guest RIP: L2's VMCALL", rip, current_evmcs->guest_rip);
	current_evmcs->guest_rip += 3;
	current_evmcs->hv_clean_fields = HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL;

	/* In VMX root operation, L1's change not yet taken by any entry */
	host_action(ACT_SAVE_RESTORE, ORDER_QEMU);
	host_action(ACT_SAVE_RESTORE, ORDER_LIB);
	check("root: the exit reason kept", EXIT_REASON_VMCALL_NR,
	      current_evmcs->vm_exit_reason);
	check("root: the instruction length kept", 3,
	      current_evmcs->vm_exit_instruction_len);
	check("root: L1's guest RIP kept", rip + 3, current_evmcs->guest_rip);

	/* L2 asks for both moves itself, then exits */
	check("VMRESUME", 0, evmcs_enter(0));
	check("L2: exit reason after the moves", EXIT_REASON_VMCALL_NR,
	      current_evmcs->vm_exit_reason);
	check("L2: guest RIP, its second VMCALL", l2_rip,
	      current_evmcs->guest_rip);
	check("L2: not the first VMCALL", 1, rip != l2_rip);
	case_end(CASE_RESTORE_ORDERS);
}

/*
 * The host deletes the eVMCS's memslot and adds it again at the same
 * address, other memory with the same bytes: first while L2 runs (the
 * exit that follows must land in the page L1 sees), then while L1 runs
 * (VMRESUME must take L1's change from that page).  Both entries come
 * from the same call site: a module that kept the old page returns to L1
 * with the host RSP and RIP it holds, which are then the same.  It
 * leaves L1's page alone: the sentinel stays (the stock module's
 * deviation).
 */
static void case_memslot(struct vmx_pages *vmx)
{
	struct hv_enlightened_vmcs *evmcs = (void *)EVMCS_SLOT_GPA;
	static const char *const what[] = {
		"exit reason in L1's page, memslot changed while L2 ran",
		"exit reason in L1's page, memslot changed before VMRESUME",
	};
	static const u32 reason[] = {
		EXIT_REASON_VMCALL_NR, EXIT_REASON_RDTSC_NR,
	};
	int round;

	memset(evmcs, 0, 4096);
	evmcs_vmptrld(EVMCS_SLOT_GPA, evmcs);
	evmcs->revision_id = EVMCS_VERSION;
	prepare_vmcs(vmx, l2_memslot_code, &l2_stack[ARRAY_SIZE(l2_stack)]);
	for (round = 0; round < 2; round++) {
		if (round) {
			host_action(ACT_MEMSLOT_SWAP, 0);
			evmcs->guest_rip += 3;
			evmcs->cpu_based_vm_exec_control |=
				CPU_BASED_RDTSC_EXITING;
			evmcs->hv_clean_fields &=
				~HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_PROC;
		}
		evmcs->vm_exit_reason = SENTINEL;
		check("VM entry", 0, evmcs_enter(!round));
		check_known(what[round], reason[round],
			    READ_ONCE(evmcs->vm_exit_reason), SENTINEL);
	}
	evmcs_vmptrld(vmx->enlightened_vmcs_gpa, vmx->enlightened_vmcs);
	case_end(CASE_MEMSLOT);
}

/*
 * The host deletes the eVMCS's memslot while L2 runs; L2's VMCALL exits
 * to L1, whose eVMCS cannot take the exit's fields: KVM_RUN must end with
 * an internal error (the host adds the memory back then, with its bytes),
 * and the next KVM_RUN must write the exit reason into L1's page.  L1
 * asks for the memory back before it reads it, for a module that goes on
 * with the old page (the stock module: no internal error, the sentinel
 * stays).
 */
static void case_memslot_gone(struct vmx_pages *vmx)
{
	struct hv_enlightened_vmcs *evmcs = (void *)EVMCS_SLOT_GPA;

	if (!READ_ONCE(strict)) {
		/* the stock module: its L1 dies of an unhandled exception */
		check_known("memslot_gone not run with the stock module", 1, 0,
			    0);
		case_end(CASE_MEMSLOT_GONE);
		return;
	}
	memset(evmcs, 0, 4096);
	evmcs_vmptrld(EVMCS_SLOT_GPA, evmcs);
	evmcs->revision_id = EVMCS_VERSION;
	prepare_vmcs(vmx, l2_memslot_gone_code, &l2_stack[ARRAY_SIZE(l2_stack)]);
	evmcs->vm_exit_reason = SENTINEL;
	check("VM entry", 0, evmcs_enter(1));
	host_action(ACT_MEMSLOT_BACK, 0);
	check_known("exit reason in L1's page after the memory came back",
		    EXIT_REASON_VMCALL_NR, READ_ONCE(evmcs->vm_exit_reason),
		    SENTINEL);
	evmcs_vmptrld(vmx->enlightened_vmcs_gpa, vmx->enlightened_vmcs);
	case_end(CASE_MEMSLOT_GONE);
}

/* NR_REPS times: a count, a count, NR_TRIPS round trips, a count. */
static void case_vmcs_loads(struct vmx_pages *vmx)
{
	int rep, i;

	launch_l2(vmx);
	current_evmcs->hv_clean_fields = HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL;
	for (rep = 0; rep < NR_REPS; rep++) {
		host_action(ACT_COUNT, 0);
		host_action(ACT_COUNT, 1);
		for (i = 0; i < NR_TRIPS; i++)
			check("VMRESUME", 0, resume_past_vmcall());
		host_action(ACT_COUNT, 2);
	}
	case_end(CASE_VMCS_LOADS);
}

static void case_smm(struct vmx_pages *vmx)
{
	launch_l2_code(vmx, l2_smm_code, &l2_stack[ARRAY_SIZE(l2_stack)]);
	current_evmcs->guest_rip += 3;
	vmwrite(CPU_BASED_VM_EXEC_CONTROL,
		vmreadz(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_RDTSC_EXITING);
	/* L2: the SMI, SMM (the host looks), RSM, RDTSC */
	check("VMRESUME", 0, evmcs_enter(0));
	check("exit after RSM: RDTSC", EXIT_REASON_RDTSC_NR,
	      current_evmcs->vm_exit_reason);
	check("its guest RIP", l2_rip, current_evmcs->guest_rip);
	check("its instruction length", 2,
	      current_evmcs->vm_exit_instruction_len);
	case_end(CASE_SMM);
}

static void l1_guest_code(struct vmx_pages *vmx)
{
	x2apic_enable();
	enable_vp_assist(vmx->vp_assist_gpa, vmx->vp_assist);
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));

	case_clean_fields(vmx);
	case_exit_fields(vmx);
	case_bad_version(vmx);
	case_no_enlighten(vmx);
	case_no_assist_page(vmx);
	case_outside_memory(vmx);
	case_vmread(vmx);
	case_vmclear_inactive(vmx);
	case_two_evmcs(vmx);
	case_vmptrst(vmx);
	case_controls(vmx);
	case_revision_restore(vmx);
	case_restore_orders(vmx);
	case_memslot(vmx);
	case_memslot_gone(vmx);
	case_vmcs_loads(vmx);
	/* Last: the emulated host may keep NMIs blocked after SMM */
	case_smm(vmx);
	GUEST_DONE();
}

/* ---------------------------------------------------------------------- */
/* Host                                                                    */

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;
static struct vmx_pages *pages;	/* the host's view of L1's */

/* What the host saw of the current case: a failure, stock's deviation */
static bool host_fail, host_xfail, host_skip;
static const char *host_why;

static void host_failed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ksft_print_msg("");
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	host_fail = true;
}

/*
 * Stock's deviation @why, seen by the host: XFAIL with the stock module,
 * a failure with nvmx or NVMX_STRICT=1.
 */
static void host_stock_deviation(const char *why)
{
	if (strict) {
		host_failed("%s\n", why);
		return;
	}
	ksft_print_msg("stock deviation: %s\n", why);
	host_xfail = true;
	host_why = why;
}

static void case_result(int i, bool ok)
{
	if (!ok || host_fail)
		ksft_test_result_fail("%s\n", case_names[i]);
	else if (host_skip)
		ksft_test_result_skip("%s: %s\n", case_names[i], host_why);
	else if (host_xfail)
		ksft_test_result_xfail("%s: %s (set NVMX_STRICT=1 to fail)\n",
				       case_names[i], host_why);
	else
		ksft_test_result_pass("%s\n", case_names[i]);
	host_fail = false;
	host_xfail = false;
	host_skip = false;
}

/* The VMX capability MSRs and IA32_FEATURE_CONTROL: QEMU sets them first */
static bool msr_set_before_nested_state(u32 index)
{
	return index == MSR_IA32_FEAT_CTL ||
	       (index >= MSR_IA32_VMX_BASIC && index <= MSR_IA32_VMX_VMFUNC);
}

static void msrs_set_part(struct kvm_vcpu *v, struct kvm_msrs *all, bool early)
{
	struct kvm_msrs *part;
	unsigned int i;

	part = calloc(1, sizeof(*part) + all->nmsrs * sizeof(all->entries[0]));
	TEST_ASSERT(part, "no memory");
	for (i = 0; i < all->nmsrs; i++)
		if (msr_set_before_nested_state(all->entries[i].index) == early)
			part->entries[part->nmsrs++] = all->entries[i];
	vcpu_msrs_set(v, part);
	free(part);
}

/*
 * QEMU's kvm_arch_put_registers(): the special registers, then the nested
 * state, then the rest; MSRs (the VP assist page among them) after the
 * nested state, but for those set once when the vCPU is created.
 */
static void load_state_qemu_order(struct kvm_vcpu *v, struct kvm_x86_state *s)
{
	vcpu_sregs_set(v, &s->sregs);
	msrs_set_part(v, &s->msrs, true);
	if (s->nested.size)
		vcpu_nested_state_set(v, &s->nested);
	vcpu_regs_set(v, &s->regs);
	vcpu_xsave_set(v, s->xsave);
	if (kvm_has_cap(KVM_CAP_XCRS))
		vcpu_xcrs_set(v, &s->xcrs);
	msrs_set_part(v, &s->msrs, false);
	vcpu_events_set(v, &s->events);
	vcpu_mp_state_set(v, &s->mp_state);
	vcpu_debugregs_set(v, &s->debugregs);
}

/* Save the vCPU, restore it into a new VM (as evmcs_test does). */
static void save_restore(int order)
{
	struct kvm_x86_state *state = vcpu_save_state(vcpu);

	kvm_vm_release(vm);
	vcpu = vm_recreate_with_one_vcpu(vm);
	vcpu_set_hv_cpuid(vcpu);
	vcpu_enable_evmcs(vcpu);
	if (order == ORDER_QEMU)
		load_state_qemu_order(vcpu, state);
	else
		vcpu_load_state(vcpu, state);
	kvm_x86_state_cleanup(state);
}

/* memslot: other host memory at the eVMCS's address, with its bytes */
static void memslot_swap(void)
{
	static u8 page[4096];

	memcpy(page, addr_gpa2hva(vm, EVMCS_SLOT_GPA), sizeof(page));
	vm_mem_region_delete(vm, EVMCS_SLOT);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, EVMCS_SLOT_GPA,
				    EVMCS_SLOT, 1, 0);
	memcpy(addr_gpa2hva(vm, EVMCS_SLOT_GPA), page, sizeof(page));
}

/*
 * memslot_gone: the eVMCS's memslot deleted (its bytes kept), then added
 * again at the internal error, or when L1 asks; the internal errors seen.
 */
static u8 gone_page[4096];
static bool slot_gone;
static int gone_errors;

static void memslot_gone(void)
{
	memcpy(gone_page, addr_gpa2hva(vm, EVMCS_SLOT_GPA), sizeof(gone_page));
	vm_mem_region_delete(vm, EVMCS_SLOT);
	slot_gone = true;
	gone_errors = 0;
}

static void memslot_back(void)
{
	if (!slot_gone)
		return;
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, EVMCS_SLOT_GPA,
				    EVMCS_SLOT, 1, 0);
	memcpy(addr_gpa2hva(vm, EVMCS_SLOT_GPA), gone_page, sizeof(gone_page));
	slot_gone = false;
}

/* vmptrst: the stock module's VMPTRST exits again and again */
static bool vmptrst_armed;

static void on_alarm(int sig)
{
}

static void vmptrst_timer(bool on)
{
	struct itimerval t = { .it_value.tv_sec = on ? 2 : 0 };
	struct sigaction sa = { .sa_handler = on_alarm };

	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: KVM_RUN returns */
	setitimer(ITIMER_REAL, &t, NULL);
	vmptrst_armed = on;
}

/* KVM_RUN returned -EINTR: a VMPTRST that never completes, or nothing */
static void vmptrst_interrupted(void)
{
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
	if (!vmptrst_armed || regs.rip != (u64)nvmx_evmcs_vmptrst_insn)
		return;
	vmptrst_timer(false);
	host_stock_deviation("VMPTRST never completes with an eVMCS current");
	regs.rip += 3;
	vcpu_regs_set(vcpu, &regs);
	vmptrst_stuck = 1;
	sync_global_to_guest(vm, vmptrst_stuck);
}

/* vmcs_loads: hits of a kprobe on vmx_vcpu_load_vmcs (a VMPTRLD each) */
#define PROBE_EVENT	"nvmx_evmcs/vmcs_load"
static bool probe_on;
static unsigned long counts[NR_REPS][3];
static int count_rep;

static unsigned long probe_hits(void)
{
	unsigned long hits, misses;
	char event[128];
	FILE *f = fopen(NVMX_TRACEFS "/kprobe_profile", "r");

	TEST_ASSERT(f, "cannot read kprobe_profile");
	while (fscanf(f, "%127s %lu %lu", event, &hits, &misses) == 3) {
		if (!strcmp(event, "vmcs_load")) {
			fclose(f);
			return hits;
		}
	}
	fclose(f);
	TEST_FAIL("no vmcs_load in kprobe_profile");
	return 0;
}

/*
 * The vCPU runs on this thread, pinned to the CPU it is on: a migration
 * to another CPU would count a VMCS load of its own at sched-in.
 */
static void probe_setup(void)
{
	cpu_set_t cpus;

	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(cpus), &cpus),
		    "sched_setaffinity: %s", strerror(errno));
	if (access(NVMX_TRACEFS "/kprobe_events", W_OK))
		mount("nodev", NVMX_TRACEFS, "tracefs", 0, NULL);
	probe_on = nvmx_tracefs_write("kprobe_events",
				      "p:" PROBE_EVENT " kvm_intel:vmx_vcpu_load_vmcs\n",
				      O_APPEND) &&
		   nvmx_tracefs_write("events/" PROBE_EVENT "/enable", "1\n",
				      O_APPEND);
}

static void probe_teardown(void)
{
	nvmx_tracefs_write("events/" PROBE_EVENT "/enable", "0\n", O_APPEND);
	nvmx_tracefs_write("kprobe_events", "-:" PROBE_EVENT "\n", O_APPEND);
}

static void count_mark(int mark)
{
	if (!probe_on)
		return;
	counts[count_rep][mark] = probe_hits();
	if (mark == 2)
		count_rep++;
}

/*
 * The VMCS loads of NR_TRIPS round trips: those between marks 1 and 2,
 * less those of a sync alone (marks 0 and 1), each the least of NR_REPS.
 */
static void count_verdict(void)
{
	unsigned long sync = ~0ul, trips = ~0ul, loads;
	int r;

	if (!probe_on && strict) {
		/* nvmx or NVMX_STRICT=1: the count must be made */
		host_failed("no kprobe on kvm_intel:vmx_vcpu_load_vmcs\n");
		return;
	}
	if (!probe_on) {
		host_skip = true;
		host_why = "no kprobe on kvm_intel:vmx_vcpu_load_vmcs";
		return;
	}
	for (r = 0; r < NR_REPS; r++) {
		if (counts[r][1] - counts[r][0] < sync)
			sync = counts[r][1] - counts[r][0];
		if (counts[r][2] - counts[r][1] < trips)
			trips = counts[r][2] - counts[r][1];
	}
	loads = trips - sync;
	ksft_print_msg("VMCS loads per round trip with an eVMCS: %lu/%d\n",
		       loads, NR_TRIPS);
	if (loads != 2 * NR_TRIPS)
		host_failed("expected 2 VMCS loads per round trip, got %lu in %d\n",
			    loads, NR_TRIPS);
}

/* smm: the SMI handler's report, in SMM */
static int smm_reports;

static void smm_report(void)
{
	struct hv_enlightened_vmcs *evmcs = pages->enlightened_vmcs_hva;
	struct {
		struct kvm_nested_state hdr;
		u8 data[2 * KVM_STATE_NESTED_VMX_VMCS_SIZE];
	} state;
	struct kvm_vcpu_events events;

	smm_reports++;
	vcpu_events_get(vcpu, &events);
	if (!events.smi.smm)
		host_failed("SMM port written outside SMM\n");

	memset(&state, 0, sizeof(state));
	state.hdr.size = sizeof(state);
	vcpu_nested_state_get(vcpu, &state.hdr);
	if (state.hdr.flags != KVM_STATE_NESTED_EVMCS ||
	    state.hdr.hdr.vmx.smm.flags != (KVM_STATE_NESTED_SMM_VMXON |
					    KVM_STATE_NESTED_SMM_GUEST_MODE) ||
	    state.hdr.hdr.vmx.vmxon_pa != pages->vmxon_gpa ||
	    state.hdr.hdr.vmx.vmcs12_pa != -1ull)
		host_failed("nested state in SMM: flags 0x%x smm 0x%x vmxon 0x%llx vmcs12 0x%llx\n",
			    state.hdr.flags, state.hdr.hdr.vmx.smm.flags,
			    state.hdr.hdr.vmx.vmxon_pa,
			    state.hdr.hdr.vmx.vmcs12_pa);
	if (evmcs->vm_exit_reason != EXIT_REASON_VMCALL_NR)
		host_failed("eVMCS exit reason in SMM: %u, expected the last exit's, %u\n",
			    evmcs->vm_exit_reason, EXIT_REASON_VMCALL_NR);
	/* A restore into SMM entered from L2 keeps the eVMCS */
	save_restore(ORDER_LIB);
}

static void host_act(u64 action, u64 param)
{
	switch (action) {
	case ACT_SAVE_RESTORE:
		save_restore(param);
		break;
	case ACT_VMPTRST_ARM:
		vmptrst_timer(true);
		break;
	case ACT_VMPTRST_DISARM:
		vmptrst_timer(false);
		break;
	case ACT_MEMSLOT_SWAP:
		memslot_swap();
		break;
	case ACT_COUNT:
		count_mark(param);
		break;
	case ACT_SMI:
		vcpu_ioctl(vcpu, KVM_SMI, NULL);
		break;
	case ACT_MEMSLOT_GONE:
		memslot_gone();
		break;
	case ACT_MEMSLOT_BACK:
		if (slot_gone)
			host_stock_deviation("no internal error, eVMCS gone at an exit");
		memslot_back();
		break;
	default:
		TEST_FAIL("unknown action %lu", action);
	}
}

static void host_case_end(int i, bool ok)
{
	if (i == CASE_VMCS_LOADS)
		count_verdict();
	if (i == CASE_MEMSLOT_GONE && gone_errors > 1)
		host_failed("%d internal errors with the eVMCS gone, expected one\n",
			    gone_errors);
	if (i == CASE_SMM && smm_reports != 1)
		host_failed("the SMI handler reported %d times, expected once\n",
			    smm_reports);
	case_result(i, ok);
}

/*
 * revision_restore on the stock module: KVM_RUN after the restore fails
 * while mapping the eVMCS (its version), exactly so.  The version goes
 * back so that L1 goes on (its next VMRESUME maps the page again).
 */
static void internal_error(void)
{
	struct kvm_run *run = vcpu->run;
	struct hv_enlightened_vmcs *evmcs = pages->enlightened_vmcs_hva;

	if (slot_gone) {
		TEST_ASSERT(run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
			    run->internal.ndata == 0,
			    "internal error %u, %u data with the eVMCS gone",
			    run->internal.suberror, run->internal.ndata);
		gone_errors++;
		memslot_back();
		return;
	}
	TEST_ASSERT(run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
		    run->internal.ndata == 0 && evmcs->revision_id == 0xbad,
		    "internal error %u, %u data, eVMCS version 0x%x",
		    run->internal.suberror, run->internal.ndata,
		    evmcs->revision_id);
	host_stock_deviation("the restore checks the eVMCS version again");
	evmcs->revision_id = EVMCS_VERSION;
}

static void run_l1(void)
{
	struct ucall uc;
	int r;

	for (;;) {
		r = __vcpu_run(vcpu);
		if (r == -1 && errno == EINTR) {
			vmptrst_interrupted();
			continue;
		}
		TEST_ASSERT(!r, KVM_IOCTL_ERROR(KVM_RUN, r));
		if (vcpu->run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
			internal_error();
			continue;
		}
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "unexpected exit reason %u (%s)",
			    vcpu->run->exit_reason,
			    exit_reason_str(vcpu->run->exit_reason));
		if (vcpu->run->io.port == SMM_PORT) {
			smm_report();
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			/* GUEST_SYNC_ARGS: "hello", then its five values */
			switch (uc.args[1]) {
			case MSG_MISMATCH:
			case MSG_STOCK:
				ksft_print_msg("%s: expected 0x%lx, got 0x%lx%s\n",
					       (const char *)uc.args[2],
					       uc.args[3], uc.args[4],
					       uc.args[1] == MSG_STOCK ?
					       ": stock deviation" : "");
				if (uc.args[1] == MSG_STOCK) {
					host_xfail = true;
					host_why = (const char *)uc.args[2];
				}
				break;
			case MSG_ACTION:
				host_act(uc.args[2], uc.args[3]);
				break;
			case MSG_CASE_END:
				host_case_end(uc.args[2], uc.args[3]);
				break;
			default:
				TEST_FAIL("unknown message %lu", uc.args[1]);
			}
			continue;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		case UCALL_DONE:
			return;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
}

/*
 * A state in VMX root operation with the eVMCS flag, VMXON region and
 * current VMCS from @vmxon and @vmcs12_pa, and vmcs12 (our revision).
 */
struct state_buf {
	struct kvm_nested_state hdr;
	u8 vmcs12[KVM_STATE_NESTED_VMX_VMCS_SIZE];
};

static void state_root(struct state_buf *s, u64 vmxon, u64 vmcs12_pa,
		       u32 revision)
{
	memset(s, 0, sizeof(*s));
	s->hdr.format = KVM_STATE_NESTED_FORMAT_VMX;
	s->hdr.flags = KVM_STATE_NESTED_EVMCS;
	s->hdr.size = sizeof(*s);
	s->hdr.hdr.vmx.vmxon_pa = vmxon;
	s->hdr.hdr.vmx.vmcs12_pa = vmcs12_pa;
	memcpy(s->vmcs12, &revision, sizeof(revision));
}

static bool expect_set(struct kvm_vcpu *v, struct state_buf *s, int err,
		       const char *what)
{
	int r = __vcpu_ioctl(v, KVM_SET_NESTED_STATE, &s->hdr);

	if (err ? r == -1 && errno == err : !r)
		return true;
	ksft_print_msg("%s: KVM_SET_NESTED_STATE gave %d (errno %d), expected %d\n",
		       what, r, r ? errno : 0, err ? -err : 0);
	return false;
}

/* KVM_GET_NESTED_STATE: its flags and vmcs12_pa as expected? */
static bool expect_get(struct kvm_vcpu *v, u16 flags, u64 vmcs12_pa,
		       const char *what)
{
	struct state_buf s = { .hdr.size = sizeof(s) };

	vcpu_nested_state_get(v, &s.hdr);
	if (s.hdr.flags == flags && s.hdr.hdr.vmx.vmcs12_pa == vmcs12_pa)
		return true;
	ksft_print_msg("%s: got flags 0x%x vmcs12_pa 0x%llx, not 0x%x 0x%lx\n",
		       what, s.hdr.flags, s.hdr.hdr.vmx.vmcs12_pa, flags,
		       vmcs12_pa);
	return false;
}

/*
 * The eVMCS flag of KVM_SET_NESTED_STATE, on a second vCPU in long mode
 * (the first one's special registers, as VMX root operation needs) with
 * VMX in CPUID, the eVMCS enabled, and Hyper-V's CPUID only at the end.
 */
static void host_state_cases(void)
{
	struct kvm_vcpu *v = vm_vcpu_add(vm, 1, NULL);
	u32 revision = vcpu_get_msr(vcpu, MSR_IA32_VMX_BASIC);
	u64 vmxon = pages->vmxon_gpa, vmcs = pages->vmcs_gpa;
	struct kvm_sregs sregs;
	struct state_buf s;
	bool ok = true, old_ok = true;

	vcpu_set_cpuid_feature(v, X86_FEATURE_VMX);
	vcpu_sregs_get(vcpu, &sregs);
	vcpu_sregs_set(v, &sregs);

	state_root(&s, -1ull, -1ull, revision);
	s.hdr.size = sizeof(s.hdr);
	ok &= expect_set(v, &s, EINVAL, "eVMCS flag before KVM_CAP_HYPERV_ENLIGHTENED_VMCS");
	vcpu_enable_evmcs(v);
	ok &= expect_set(v, &s, 0, "eVMCS flag outside VMX operation");
	/* In VMX operation, the eVMCS flag needs the vmcs12 that goes with it */
	state_root(&s, vmxon, -1ull, revision);
	s.hdr.size = sizeof(s.hdr);
	ok &= expect_set(v, &s, EINVAL, "eVMCS flag without vmcs12");

	/* Its old meaning beside a vmcs12_pa: a normal VMCS, no Hyper-V needed */
	state_root(&s, vmxon, vmcs, revision);
	old_ok &= expect_set(v, &s, 0, "eVMCS flag beside vmcs12_pa");
	old_ok &= expect_get(v, 0, vmcs, "eVMCS flag beside vmcs12_pa");
	ksft_test_result(old_ok, "%s\n", case_names[CASE_STATE_EVMCS_VMCS12_PA]);

	/* A current eVMCS on a vCPU without Hyper-V's CPUID: refused */
	state_root(&s, vmxon, -1ull, revision);
	if (!__vcpu_ioctl(v, KVM_SET_NESTED_STATE, &s.hdr)) {
		host_stock_deviation("a current eVMCS taken without Hyper-V CPUID");
	} else {
		ok &= expect_set(v, &s, EINVAL, "current eVMCS without Hyper-V CPUID");
		ok &= expect_get(v, 0, vmcs, "refused: the vCPU unchanged");
	}
	vcpu_set_hv_cpuid(v);
	ok &= expect_set(v, &s, 0, "current eVMCS with Hyper-V CPUID");
	ok &= expect_get(v, KVM_STATE_NESTED_EVMCS, -1ull,
			 "current eVMCS with Hyper-V CPUID");
	case_result(CASE_STATE_EINVAL, ok);
}

/* Real-address mode at SMBASE + 8000H */
static const u8 smi_handler[] = {
	0xb0, SMM_STAGE,	/* mov $SMM_STAGE, %al */
	0xe4, SMM_PORT,		/* in $SMM_PORT, %al */
	0x0f, 0xaa,		/* rsm */
};

int main(int argc, char *argv[])
{
	const char *env = getenv("NVMX_STRICT");
	vm_vaddr_t vmx_gva;
	unsigned int i;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_HYPERV_ENLIGHTENED_VMCS));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_SMM));

	ksft_print_header();
	ksft_set_plan(NR_CASES);

	/* room in memslot 0 for the page tables of the eVMCS slot */
	vm = __vm_create_with_one_vcpu(&vcpu, 16, l1_guest_code);
	vcpu_set_hv_cpuid(vcpu);
	vcpu_enable_evmcs(vcpu);
	pages = vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, UD_VECTOR, l1_ud_handler);

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, EVMCS_SLOT_GPA,
				    EVMCS_SLOT, 1, 0);
	virt_map(vm, EVMCS_SLOT_GPA, EVMCS_SLOT_GPA, 1);

	/* SMRAM: the handler reports on SMM_PORT, then returns (RSM) */
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SMRAM_GPA,
				    SMRAM_SLOT, SMRAM_PAGES, 0);
	memset(addr_gpa2hva(vm, SMRAM_GPA), 0, SMRAM_PAGES * 4096);
	memcpy(addr_gpa2hva(vm, SMRAM_GPA + 0x8000), smi_handler,
	       sizeof(smi_handler));
	vcpu_set_msr(vcpu, MSR_IA32_SMBASE, SMRAM_GPA);

	strict = (env && !strcmp(env, "1")) || nvmx_host_module_is_nvmx();
	sync_global_to_guest(vm, strict);
	for (i = 0; i < ARRAY_SIZE(caps); i++)
		caps[i].value = vcpu_get_msr(vcpu, caps[i].msr);
	sync_global_to_guest(vm, caps);

	probe_setup();
	run_l1();
	if (probe_on)
		probe_teardown();

	host_state_cases();
	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
