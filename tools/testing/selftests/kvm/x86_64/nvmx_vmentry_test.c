// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_vmentry_test: how VMLAUNCH/VMRESUME end when the entry is refused.
 *
 * Each case sets up vmcs12 on top of prepare_vmcs(), runs VMLAUNCH or
 * VMRESUME and checks the outcome the SDM (Vol. 3C) prescribes: VMfailValid
 * with the VM-instruction error (30.4), a VM-entry failure exit (26.8), or
 * L2 running and exiting to L1.  The launch state (24.11.3) shows in which
 * of VMLAUNCH and VMRESUME fails with error 4 or 5.  A VMfailValid leaves
 * L1 and vmcs12 as they were but for RFLAGS, RIP and the error (30.2,
 * 30.3).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* known stock deviations fail instead of XFAIL */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

/* VM-instruction errors (30.4) */
#define ERR_VMLAUNCH_NONCLEAR		4
#define ERR_VMRESUME_NONLAUNCHED	5
#define ERR_INVALID_CONTROL		7

/* Exit reasons (Appendix C) */
#define REASON_EXCEPTION_NMI		0
#define REASON_ENTRY_FAIL_GUEST		(BIT(31) | 33)

/* An L2 that exits at once. */
asm(".pushsection .text\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection");

static void expect_vmfail(int failed, u32 error, const char *sdm)
{
	report("VMLAUNCH/VMRESUME failed (VMfail)", 1, failed, sdm);
	if (failed)
		CHECK(VM_INSTRUCTION_ERROR, error, sdm);
}

static void expect_vmcall_exit(int failed, const char *sdm)
{
	report("VMLAUNCH/VMRESUME failed (VMfail)", 0, failed, sdm);
	if (!failed)
		CHECK(VM_EXIT_REASON, EXIT_REASON_VMCALL_NR, sdm);
}

/*
 * A guest state only the processor checks on vmcs02 (GDTR limit above
 * FFFFH, 26.3.1.3) fails the entry after the checks of 26.2: the VMCS stays
 * clear (30.3 VMLAUNCH sets "launched" only on success), so VMRESUME fails
 * with error 5 and a corrected VMLAUNCH succeeds; then the VMCS is launched.
 */
static void launch_state_after_guest_state_failure(void)
{
	l2_setup(ASM_LABEL(l2_vmcall));
	vmwrite(GUEST_GDTR_LIMIT, 0x10000);
	report("VMLAUNCH failed (VMfail)", 0, nvmx_l2_run(1), "26.3.1.3");
	CHECK(VM_EXIT_REASON, REASON_ENTRY_FAIL_GUEST, "26.8");
	CHECK(EXIT_QUALIFICATION, 0, "26.8");

	l2_setup(ASM_LABEL(l2_vmcall));
	expect_vmfail(nvmx_l2_run(0), ERR_VMRESUME_NONLAUNCHED,
		      "30.3 VMRESUME (launch state still clear)");

	vmwrite(GUEST_GDTR_LIMIT, 0xffff);
	expect_vmcall_exit(nvmx_l2_run(1), "30.3 VMLAUNCH");
	l2_setup(ASM_LABEL(l2_vmcall));
	expect_vmfail(nvmx_l2_run(1), ERR_VMLAUNCH_NONCLEAR,
		      "30.3 VMLAUNCH (launched after the successful entry)");
}

/* Event information (24.8.3, 27.2.2): valid, type, deliver error code. */
#define EV_VALID		BIT(31)
#define EV_HW_EXC		(3u << 8)
#define EV_ERRCODE		BIT(11)
#define CP_VECTOR		21
#define GP_VECTOR_NR		13
/* #GP while reading IDT entry @v: index, IDT flag, external event (6.13) */
#define IDT_ERROR_CODE(v)	((v) << 3 | 2 | 1)

/*
 * #CP (21) is not an exception that delivers an error code for L1: L1 is
 * offered neither CET nor IA32_VMX_BASIC[56], so 26.2.1.3's list is 8,
 * 10-14 and 17, and a #CP injected with its deliver-error-code bit set is a
 * VMfailValid(7) (this is also what a processor without CET does, and what
 * one with CET but without VMX_BASIC[56] does).  Without the bit it is
 * delivered: with an IDT limit of 0 its delivery raises #GP, which L1
 * intercepts, and the exit reports the #GP and, as the event being
 * delivered, the #CP without an error code (27.2.2, 27.2.4).
 */
static void inject_cp(bool error_code)
{
	u32 ev = EV_VALID | EV_HW_EXC | CP_VECTOR;
	int failed;

	l2_setup(ASM_LABEL(l2_vmcall));
	vmwrite(GUEST_IDTR_LIMIT, 0);
	vmwrite(EXCEPTION_BITMAP, BIT(GP_VECTOR_NR));
	if (error_code)
		ev |= EV_ERRCODE;
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, ev);
	vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, 5);
	failed = nvmx_l2_run(1);
	if (error_code) {
		expect_vmfail(failed, ERR_INVALID_CONTROL, "26.2.1.3");
		return;
	}
	GUEST_ASSERT_2(!failed, failed, vmreadz(VM_INSTRUCTION_ERROR));
	CHECK(VM_EXIT_REASON, REASON_EXCEPTION_NMI, "25.2");
	CHECK(VM_EXIT_INTR_INFO, EV_VALID | EV_HW_EXC | EV_ERRCODE |
	      GP_VECTOR_NR, "27.2.2");
	CHECK(VM_EXIT_INTR_ERROR_CODE, IDT_ERROR_CODE(CP_VECTOR), "27.2.2");
	CHECK(IDT_VECTORING_INFO_FIELD, ev, "27.2.4");
}

static void inject_cp_without_error_code(void)
{
	inject_cp(false);
}

static void inject_cp_with_error_code(void)
{
	inject_cp(true);
}

/*
 * The VM-entry MSR-load list is L1's WRMSRs, done by the processor: an MSR
 * the VMM's filter (KVM_X86_SET_MSR_FILTER) keeps L1 from writing fails
 * the entry as a WRMSR fault would, with the entry's number (26.4, 26.8),
 * as it does in the VM-exit MSR-load list.  The host denies writes to
 * IA32_KERNEL_GS_BASE: no host-state field reloads it when the failed entry
 * returns to L1 (27.5), so a write the list wrongly did would stay visible.
 */
#define FILTERED_MSR		0xc0000102	/* IA32_KERNEL_GS_BASE */
#define FILTERED_VALUE		0x5a5a5000ull
#define REASON_ENTRY_FAIL_MSR	(BIT(31) | 34)

static struct vmx_msr_entry entry_msrs[1] __aligned(16);
static u64 entry_msrs_gpa;

static void entry_msr_load_filtered(void)
{
	u64 before = rdmsr(FILTERED_MSR);
	u32 reason;

	l2_setup(ASM_LABEL(l2_vmcall));
	entry_msrs[0].index = FILTERED_MSR;
	entry_msrs[0].reserved = 0;
	entry_msrs[0].value = FILTERED_VALUE;
	vmwrite(VM_ENTRY_MSR_LOAD_ADDR, entry_msrs_gpa);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 1);
	report("VMLAUNCH failed (VMfail)", 0, nvmx_l2_run(1), "26.4");
	reason = vmreadz(VM_EXIT_REASON);
	report_known("VM_EXIT_REASON", REASON_ENTRY_FAIL_MSR, reason,
		     EXIT_REASON_VMCALL_NR, "26.4, 26.8",
		     "stock KVM 6.1 ignores the MSR filter in the MSR-load lists");
	if (reason != REASON_ENTRY_FAIL_MSR)
		return;
	CHECK(EXIT_QUALIFICATION, 1, "26.8 (the failing entry, from 1)");
	report("IA32_KERNEL_GS_BASE after the failed entry", before,
	       rdmsr(FILTERED_MSR), "26.4");
}

/*
 * A VMfailValid on a control check (26.2.1.3): a software interrupt
 * (type 4) injected with an instruction length above 15.  The entry would
 * load much of L1's state with other values
 * (CR0, CR3, CR4, EFER, PAT, DR7, TSC offset, FS base, GDTR, and two MSRs
 * through the VM-entry MSR-load list, one of them IA32_SYSENTER_CS, whose
 * vmcs12 field L0 updates along with the MSR while L2 is active).  The
 * instruction must fail before any of it (26.1, 26.2 come before 26.3 and
 * 26.4): L1 resumes after VMLAUNCH/VMRESUME with ZF set and every other
 * arithmetic flag clear, error 7, its state unchanged, and every field of
 * vmcs12 but the error unchanged (30.3).  The CR0 and CR4 bits that change
 * are ones L0 keeps for itself (AM, MCE): L1 reads them from L0's read
 * shadows, so the host also reads L0's own view of L1's control and debug
 * registers (KVM_GET_SREGS, KVM_GET_DEBUGREGS) and compares.  Then the entry without the event
 * and the list, and with L1's CR3 and DR7, succeeds: VMLAUNCH, because the
 * launch state is still clear.
 */
#define F_ZF			0x0040ull
#define EV_SOFT_INT		(4u << 8)
#define SOFT_INT_VECTOR		0x80
#define L2_PAT			0x0606060606060606ull
#define L2_DR7			0x401
#define L2_TSC_OFFSET		BIT_ULL(50)
#define L2_SYSENTER_CS		0x77
#define L2_FS_BASE		0x12345000ull
#define LIST_LSTAR		0xffffffff81234560ull
#define LIST_SYSENTER_CS	0x1234
#define VMCS_ENC_HOST_RSP	0x6c14
#define VMCS_ENC_HOST_RIP	0x6c16
#define VMCS_ENC_INSN_ERROR	0x4400

/* L1's CR0, CR3, CR4 and DR7, for the host to compare with KVM's */
#define MSG_L1_REGS		(NVMX_MSG_SNAPSHOT + 1)

u64 vmfail_rflags_before;
u64 vmfail_rflags_after;
u32 vmfail_next_insn_runs;

/*
 * Sets every arithmetic flag, so that a VMfail must clear all but ZF, and
 * records RFLAGS as they are before the VMX instruction.
 */
#define ASM_ALL_ARITH_FLAGS						\
	"pushf\n\t"							\
	"orq $0x8d5, (%rsp)\n\t"					\
	"popf\n\t"							\
	"pushf\n\t"							\
	"pop vmfail_rflags_before(%rip)\n\t"

/*
 * vmfail_probe_asm (EDI = launch): VMLAUNCH or VMRESUME with L1's RSP and a
 * return path as host state.  The instruction right after it, PUSHF,
 * records RFLAGS and counts its runs: it runs once, after a VMfail (RIP
 * after the instruction, 30.2).  EAX = 1 after a VMfail, 0 after a VM exit.
 */
asm(".pushsection .text\n"
	"vmfail_probe_asm:\n\t"
	NVMX_ASM_L2_RUN_PROLOGUE
	"mov $0x6c14, %eax\n\t"			/* HOST_RSP */
	"vmwrite %rsp, %rax\n\t"
	"lea vmfail_probe_exit(%rip), %rdx\n\t"
	"mov $0x6c16, %eax\n\t"			/* HOST_RIP */
	"vmwrite %rdx, %rax\n\t"
	"cmpl $0, nvmx_launch(%rip)\n\t"
	"je 1f\n\t"
	ASM_ALL_ARITH_FLAGS
	"vmlaunch\n\t"
	"pushf\n\t"
	"jmp 2f\n"
	"1:\t"
	ASM_ALL_ARITH_FLAGS
	"vmresume\n\t"
	"pushf\n"
	"2:\t"
	"pop vmfail_rflags_after(%rip)\n\t"
	"incl vmfail_next_insn_runs(%rip)\n\t"
	"mov $1, %eax\n\t"
	"jmp 3f\n"
	"vmfail_probe_exit:\n\t"
	"xor %eax, %eax\n"
	"3:\t"
	NVMX_ASM_L2_RUN_EPILOGUE
	".popsection\n");

static int vmfail_probe(int launch)
{
	vmfail_next_insn_runs = 0;
	return nvmx_call_asm(ASM_LABEL(vmfail_probe_asm), launch);
}

/* What of L1 the refused entry would load (26.3.2, 26.4). */
struct l1_state {
	u64 cr0, cr3, cr4, dr7;
	u64 efer, pat, fs_base, lstar, sysenter_cs;
	struct desc_ptr gdt;
};

static void l1_state_read(struct l1_state *s)
{
	s->cr0 = get_cr0();
	s->cr3 = get_cr3();
	s->cr4 = get_cr4();
	asm volatile("mov %%dr7, %0" : "=r"(s->dr7));
	s->efer = rdmsr(MSR_EFER);
	s->pat = rdmsr(MSR_IA32_CR_PAT);
	s->fs_base = rdmsr(MSR_FS_BASE);
	s->lstar = rdmsr(MSR_LSTAR);
	s->sysenter_cs = rdmsr(MSR_IA32_SYSENTER_CS);
	s->gdt = get_gdt();
}

static void l1_state_check(const struct l1_state *b, const struct l1_state *a)
{
	report("L1's CR0", b->cr0, a->cr0, "30.3");
	report("L1's CR3", b->cr3, a->cr3, "30.3");
	report("L1's CR4", b->cr4, a->cr4, "30.3");
	report("L1's DR7", b->dr7, a->dr7, "30.3");
	report("L1's IA32_EFER", b->efer, a->efer, "30.3");
	report("L1's IA32_PAT", b->pat, a->pat, "30.3");
	report("L1's FS base", b->fs_base, a->fs_base, "30.3");
	report("L1's GDTR base", b->gdt.address, a->gdt.address, "30.3");
	report("L1's GDTR limit", b->gdt.size, a->gdt.size, "30.3");
	report("L1's IA32_LSTAR (MSR-load list)", b->lstar, a->lstar, "30.3");
	report("L1's IA32_SYSENTER_CS (MSR-load list)", b->sysenter_cs,
	       a->sysenter_cs, "30.3");
}

/* Every field VMREAD accepts, up to IA32_VMX_VMCS_ENUM's index, and values */
#define VMCS_IMAGE_MAX		512

struct vmcs_image {
	int n;
	u32 enc[VMCS_IMAGE_MAX];
	u64 val[VMCS_IMAGE_MAX];
};

static struct vmcs_image image_before, image_after;

/*
 * Encodings (24.11.2, Appendix B): bit 0 access type, 9:1 index, 11:10
 * type, 12 reserved (0), 14:13 width.
 */
static void vmcs_image_take(struct vmcs_image *img)
{
	u32 max_index = (rdmsr(MSR_IA32_VMX_VMCS_ENUM) >> 1) & 0x1ff;
	u64 val;
	u32 enc;

	img->n = 0;
	for (enc = 0; enc < 0x8000; enc++) {
		if ((enc & BIT(12)) || ((enc >> 1) & 0x1ff) > max_index ||
		    (nvmx_vmread_rflags(enc, &val) & F_ARITH))
			continue;
		GUEST_ASSERT(img->n < VMCS_IMAGE_MAX);
		img->enc[img->n] = enc;
		img->val[img->n++] = val;
	}
}

/*
 * vmcs12 after the failed instruction: the same fields, the same values
 * but the VM-instruction error (and the host RSP and RIP the probe wrote).
 */
static void vmcs_image_check(const struct vmcs_image *b,
			     const struct vmcs_image *a)
{
	int i;

	report("number of vmcs12 fields", b->n, a->n, "30.3");
	if (b->n != a->n)
		return;
	for (i = 0; i < b->n; i++) {
		if (b->enc[i] == VMCS_ENC_INSN_ERROR ||
		    b->enc[i] == VMCS_ENC_HOST_RSP ||
		    b->enc[i] == VMCS_ENC_HOST_RIP)
			continue;
		if (b->enc[i] != a->enc[i]) {
			report("encoding of vmcs12's next field", b->enc[i],
			       a->enc[i], "30.3");
			return;
		}
		if (b->val[i] != a->val[i]) {
			report("vmcs12 field changed (encoding: got)", 0,
			       b->enc[i], "30.3");
			report("its value", b->val[i], a->val[i], "30.3");
		}
	}
}

static struct vmx_msr_entry refused_msrs[2] __aligned(16);
static u64 refused_msrs_gpa;

/* vmcs12 for the refused entry; false if L1 lacks a control it needs. */
static bool refused_entry_setup(void)
{
	l2_setup(ASM_LABEL(l2_vmcall));
	if (!ctl_update(VM_ENTRY_CONTROLS, MSR_IA32_VMX_ENTRY_CTLS,
			VM_ENTRY_LOAD_DEBUG_CONTROLS | VM_ENTRY_LOAD_IA32_PAT |
			VM_ENTRY_LOAD_IA32_EFER, 0) ||
	    !ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_USE_TSC_OFFSETTING, 0)) {
		report("load DR7/PAT/EFER and TSC offsetting offered", 1, 0,
		       "A.3.2, A.5");
		return false;
	}
	vmwrite(GUEST_CR0, get_cr0() ^ X86_CR0_AM);
	vmwrite(GUEST_CR3, get_cr3() ^ 0x1000);
	vmwrite(GUEST_CR4, get_cr4() ^ X86_CR4_MCE);
	vmwrite(GUEST_IA32_EFER, rdmsr(MSR_EFER) ^ EFER_SCE);
	vmwrite(GUEST_IA32_PAT, L2_PAT);
	vmwrite(GUEST_DR7, L2_DR7);
	vmwrite(TSC_OFFSET, L2_TSC_OFFSET);
	vmwrite(GUEST_FS_BASE, L2_FS_BASE);
	vmwrite(GUEST_GDTR_LIMIT, 0x7f);
	vmwrite(GUEST_SYSENTER_CS, L2_SYSENTER_CS);

	refused_msrs[0].index = MSR_LSTAR;
	refused_msrs[0].reserved = 0;
	refused_msrs[0].value = LIST_LSTAR;
	refused_msrs[1].index = MSR_IA32_SYSENTER_CS;
	refused_msrs[1].reserved = 0;
	refused_msrs[1].value = LIST_SYSENTER_CS;
	vmwrite(VM_ENTRY_MSR_LOAD_ADDR, refused_msrs_gpa);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, ARRAY_SIZE(refused_msrs));

	vmwrite(VM_ENTRY_INTR_INFO_FIELD,
		EV_VALID | EV_SOFT_INT | SOFT_INT_VECTOR);
	vmwrite(VM_ENTRY_INSTRUCTION_LEN, 16);
	return true;
}

static void refused_entry(int launch)
{
	struct l1_state before, after;
	u64 tsc0, tsc1;
	int failed;

	/* VMRESUME needs a launched VMCS: one entry and exit first */
	if (!launch) {
		l2_setup(ASM_LABEL(l2_vmcall));
		if (!l2_launch())
			return;
		CHECK(VM_EXIT_REASON, EXIT_REASON_VMCALL_NR, "30.3 VMLAUNCH");
	}
	if (!refused_entry_setup())
		return;

	l1_state_read(&before);
	vmcs_image_take(&image_before);
	tsc0 = rdtsc();
	failed = vmfail_probe(launch);
	tsc1 = rdtsc();
	l1_state_read(&after);

	report("VMLAUNCH/VMRESUME failed (VMfail)", 1, failed, "26.2.1.3");
	if (!failed)
		return;
	report("runs of the instruction after it", 1, vmfail_next_insn_runs,
	       "30.2 (RIP after the instruction)");
	report("RFLAGS after it",
	       (vmfail_rflags_before & ~F_ARITH) | F_ZF, vmfail_rflags_after,
	       "30.2 VMfailValid");
	CHECK(VM_INSTRUCTION_ERROR, ERR_INVALID_CONTROL, "26.2.1.3, 30.4");
	l1_state_check(&before, &after);
	report("L1's TSC moved by less than vmcs12's TSC offset / 1024", 1,
	       tsc1 - tsc0 < L2_TSC_OFFSET / 1024, "30.3");
	ucall(UCALL_SYNC, 6, MSG_L1_REGS, cur_case, after.cr0, after.cr3,
	      after.cr4, after.dr7);
	vmcs_image_take(&image_after);
	vmcs_image_check(&image_before, &image_after);

	if (launch)
		expect_vmfail(nvmx_l2_run(0), ERR_VMRESUME_NONLAUNCHED,
			      "30.3 VMRESUME (launch state still clear)");
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(GUEST_CR3, get_cr3());
	vmwrite(GUEST_DR7, 0x400);
	l2_setup(ASM_LABEL(l2_vmcall));
	expect_vmcall_exit(nvmx_l2_run(launch), "30.3");
}

static void vmlaunch_refused_soft_int_length(void)
{
	refused_entry(1);
}

static void vmresume_refused_soft_int_length(void)
{
	refused_entry(0);
}

#define EV_RESERVED_TYPE		BIT(8)	/* type 1, reserved */

/*
 * The fields a typical L1 writes between exit and entry, often without an
 * exit of its own (VMCS shadowing): each VMRESUME checks them again (SDM
 * 26.2), however unchanged the rest of vmcs12 is since the last entry.
 * After one entry and exit: a reserved event type (26.2.1.3), a must-be-1
 * primary control cleared (26.2.1.1, A.3.2): each VMfailValid, then the
 * restored VMCS resumes L2.  (Host RIP, the other such field with a check,
 * cannot be tried here: the library's VMRESUME writes it every time.)
 */
static void vmresume_rechecks_written_fields(void)
{
	u32 must1 = vmx_true_msr(MSR_IA32_VMX_PROCBASED_CTLS);
	u32 exec;

	l2_setup(ASM_LABEL(l2_vmcall));
	expect_vmcall_exit(nvmx_l2_run(1), "30.3");
	vmwrite(GUEST_RIP, ASM_LABEL(l2_vmcall));

	vmwrite(VM_ENTRY_INTR_INFO_FIELD, EV_VALID | EV_RESERVED_TYPE);
	expect_vmfail(nvmx_l2_run(0), ERR_INVALID_CONTROL, "26.2.1.3");
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, 0);

	exec = vmreadz(CPU_BASED_VM_EXEC_CONTROL);
	if (exec & must1) {
		vmwrite(CPU_BASED_VM_EXEC_CONTROL, exec & ~must1);
		expect_vmfail(nvmx_l2_run(0), ERR_INVALID_CONTROL, "26.2.1.1");
		vmwrite(CPU_BASED_VM_EXEC_CONTROL, exec);
	} else {
		skip("no must-be-1 primary processor-based control (A.3.2)");
	}

	expect_vmcall_exit(nvmx_l2_run(0), "30.3");
}

static const struct nvmx_case cases[] = {
	{ "vmresume_rechecks_written_fields",
	  vmresume_rechecks_written_fields },
	{ "launch_state_after_guest_state_failure",
	  launch_state_after_guest_state_failure },
	{ "inject_cp_without_error_code", inject_cp_without_error_code },
	{ "inject_cp_with_error_code", inject_cp_with_error_code },
	{ "entry_msr_load_filtered", entry_msr_load_filtered },
	{ "vmlaunch_refused_soft_int_length",
	  vmlaunch_refused_soft_int_length },
	{ "vmresume_refused_soft_int_length",
	  vmresume_refused_soft_int_length },
};

static void run_case(int i)
{
	cases[i].run();
}

static const char *case_name(int i)
{
	return cases[i].name;
}

void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, ARRAY_SIZE(cases), run_case);
}

static struct kvm_vcpu *host_vcpu;
static bool host_case_failed;

static void host_expect(const char *name, const char *what, u64 expected,
			u64 actual)
{
	if (expected == actual)
		return;
	ksft_print_msg("%s: %s: expected 0x%lx, got 0x%lx (SDM 30.3)\n",
		       name, what, expected, actual);
	host_case_failed = true;
}

/* KVM's view of L1's registers is what L1 reads from its processor. */
static void host_check_l1_regs(struct ucall *uc, const char *name)
{
	struct kvm_debugregs dregs;
	struct kvm_sregs sregs;

	vcpu_sregs_get(host_vcpu, &sregs);
	vcpu_debugregs_get(host_vcpu, &dregs);
	host_expect(name, "KVM's CR0 of L1", uc->args[2], sregs.cr0);
	host_expect(name, "KVM's CR3 of L1", uc->args[3], sregs.cr3);
	host_expect(name, "KVM's CR4 of L1", uc->args[4], sregs.cr4);
	host_expect(name, "KVM's DR7 of L1", uc->args[5], dregs.dr7);
}

static void host_message(struct ucall *uc)
{
	const char *name = case_name(uc->args[1]);

	if (uc->args[0] == MSG_L1_REGS) {
		host_check_l1_regs(uc, name);
		return;
	}
	if (uc->args[0] == NVMX_MSG_CASE_END && host_case_failed) {
		uc->args[2] = NVMX_FAIL;
		host_case_failed = false;
	}
	nvmx_host_message(uc, name);
}

/* Writes of FILTERED_MSR denied, everything else allowed. */
static void deny_filtered_msr_writes(struct kvm_vm *vm)
{
	static u8 deny;
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges = {
			{
				.flags = KVM_MSR_FILTER_WRITE,
				.nmsrs = 1,
				.base = FILTERED_MSR,
				.bitmap = &deny,
			},
		},
	};

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_MSR_FILTER));
	vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, &filter);
}

int main(int argc, char *argv[])
{
	struct kvm_vm *vm;

	vm = nvmx_host_create(&host_vcpu, ARRAY_SIZE(cases), NULL);
	deny_filtered_msr_writes(vm);
	entry_msrs_gpa = addr_gva2gpa(vm, (vm_vaddr_t)entry_msrs);
	sync_global_to_guest(vm, entry_msrs_gpa);
	refused_msrs_gpa = addr_gva2gpa(vm, (vm_vaddr_t)refused_msrs);
	sync_global_to_guest(vm, refused_msrs_gpa);
	return nvmx_host_run(vm, host_vcpu, host_message);
}
