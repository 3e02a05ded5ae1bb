// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_vmx_cap_msrs_test: KVM_SET_MSRS on the VMX capability MSRs from a
 * hostile VMM (issue 13).
 *
 * 1. hostile_writes: for each of IA32_VMX_BASIC .. IA32_VMX_VMFUNC (480H to
 *    491H) and the two after them, seeded random values, the supported
 *    value with bits flipped, restrictions of it and extensions of it,
 *    written one at a time with KVM_SET_MSRS.  Each is classified from the
 *    SDM's meaning of its fields (Appendix A) against what the module
 *    supports (the feature MSR of /dev/kvm):
 *      claims more  (a feature, an allowed 1-setting or a count beyond the
 *                    supported one, a must-be-1 setting or FIXED0 bit
 *                    taken away, another VMCS revision, a smaller VMCS, a
 *                    reserved bit): must be refused (KVM_SET_MSRS sets 0);
 *      restricts    (features, allowed 1-settings and counts taken away,
 *                    must-be-1 settings added, nothing else changed): must
 *                    be accepted and read back as written;
 *      either       (a change that is neither: a larger VMCS size or
 *                    another memory type in IA32_VMX_BASIC, bit 48, a
 *                    preemption-timer rate without the timer, contradictory
 *                    control settings, the FIXED1 MSRs KVM derives from
 *                    CPUID, the non-TRUE control MSRs KVM derives from the
 *                    TRUE ones, an IA32_VMX_VMCS_ENUM above the module's
 *                    or with reserved bits, which KVM's ABI takes): either
 *                    answer, and an accepted value reads back as written.
 *    A refused write must leave the MSR as it was, and KVM_SET_MSRS of
 *    three entries whose second claims more sets one.
 * 2. l1_reads_restrictions: a restriction of every MSR at once; L1's RDMSR
 *    returns each (the non-TRUE control MSRs as the TRUE ones with the
 *    default1 class set, A.2).
 * 3. busy_in_vmx_operation: no write is taken while L1 is in VMX operation.
 * 4. honoured_*: a restriction, then L1's VM entries and VMX instructions
 *    follow it: a control whose 1-setting was taken away fails VM entry
 *    with VMfailValid 7 and one made must-be-1 fails it when 0 (26.2.1);
 *    a CR0 bit added to IA32_VMX_CR0_FIXED0 makes VMXON #GP(0) without it
 *    (23.8, 30.3), host CR0 fail with VMfailValid 8 (26.2.2) and guest CR0
 *    with exit 33 (26.3.1.1); the HLT activity state taken from
 *    IA32_VMX_MISC fails entry with exit 33 (26.3.1.5); INVVPID and the
 *    single-context INVEPT taken from IA32_VMX_EPT_VPID_CAP #UD and fail
 *    with VMfailValid 28 (30.3); without the TRUE MSRs (IA32_VMX_BASIC bit
 *    55 cleared) a default1 control left 0 fails VM entry (A.2).
 *
 * Usage: nvmx_vmx_cap_msrs_test [-s SEED] [-n VALUES_PER_MSR]
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define NR_CAP_MSRS	20		/* 480H to 493H */
#define CAP_MSR(i)	(0x480 + (i))

enum mode {
	MODE_READ_ALL,
	MODE_BUSY,
	MODE_HONOUR,
};

enum honour {
	H_CONTROLS,		/* a control field: bits a and b */
	H_CR0_FIXED0,		/* CR0 bit a made fixed to 1 */
	H_MISC_HLT,		/* no HLT activity state */
	H_EPT_VPID,		/* no INVVPID, no single-context INVEPT */
	H_BASIC_TRUE,		/* IA32_VMX_BASIC bit 55 cleared */
};

struct nvmx_env {
	bool strict;
	u32 mode;
	u32 honour;		/* enum honour */
	u64 a, b;		/* control bits: 1-setting taken away, must be 1 */
	u32 field;		/* the control field they are in */
	u32 msr;		/* the MSR restricted, and the value L1 reads */
	u64 msr_val;
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

/* The default1 class of each non-TRUE control MSR (A.3.1, A.3.2, A.4, A.5) */
#define DEFAULT1_PIN		0x00000016u
#define DEFAULT1_PROC		0x0401e172u
#define DEFAULT1_EXIT		0x00036dffu
#define DEFAULT1_ENTRY		0x000011ffu

#define ERR_INVALID_CONTROL	7
#define ERR_INVALID_HOST	8
#define ERR_INV_OPERAND		28
#define REASON_VMCALL		18
#define REASON_INVALID_GUEST	(BIT(31) | 33)
#define REASON_INTR_WINDOW	7

/* ---------------------------------------------------------------------- */
/* L1                                                                       */

u64 l1_msr_vals[NR_CAP_MSRS];
u8 l1_msr_vector[NR_CAP_MSRS];
static struct vmx_pages *l1_vmx;

asm(".pushsection .text\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection");

/* Outcomes: 200H VMfailInvalid, 3NNH VMfailValid NN, else the exit reason */
#define OC_VALID(n)	(0x300ull | (n))

static void l1_read_all(void)
{
	int i;

	for (i = 0; i < NR_CAP_MSRS; i++)
		l1_msr_vector[i] = rdmsr_safe(CAP_MSR(i), &l1_msr_vals[i]);
}

/* A fresh VMCS as the library prepares it, L2 at its VMCALL */
static void fresh_vmcs(void)
{
	GUEST_ASSERT(load_vmcs(l1_vmx));
	prepare_vmcs(l1_vmx, NULL, &l2_stack[ARRAY_SIZE(l2_stack)]);
	l2_setup(ASM_LABEL(l2_vmcall));
}

static u64 launch(void)
{
	if (nvmx_l2_run(1)) {
		if (nvmx_vmfail_rflags & BIT(0))
			return 0x200;
		return OC_VALID(vmreadz(VM_INSTRUCTION_ERROR));
	}
	return vmreadz(VM_EXIT_REASON);
}

/* @field = (its prepared value | @set) & ~@clear, then VMLAUNCH */
static u64 launch_with(u32 field, u64 set, u64 clear)
{
	fresh_vmcs();
	if (field == SECONDARY_VM_EXEC_CONTROL)
		vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			vmreadz(CPU_BASED_VM_EXEC_CONTROL) |
			CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	vmwrite(field, (vmreadz(field) | set) & ~clear);
	return launch();
}

static void honour_controls(void)
{
	u64 a = nvmx_env.a, b = nvmx_env.b;
	u32 f = nvmx_env.field;

	report("VMLAUNCH, bit b set, bit a clear", REASON_VMCALL,
	       launch_with(f, b, a), "26.2.1");
	report("VMLAUNCH, bit a (1-setting taken away) set",
	       OC_VALID(ERR_INVALID_CONTROL), launch_with(f, a | b, 0),
	       "26.2.1, A.3-A.5");
	report("VMLAUNCH, bit b (made must-be-1) clear",
	       OC_VALID(ERR_INVALID_CONTROL), launch_with(f, 0, a | b),
	       "26.2.1, A.3-A.5");
}

static void honour_cr0_fixed0(void)
{
	u64 bit = nvmx_env.a;

	report("VMLAUNCH", REASON_VMCALL, launch_with(HOST_CR0, 0, 0),
	       "26.2.2");
	report("VMLAUNCH, host CR0 without the FIXED0 bit",
	       OC_VALID(ERR_INVALID_HOST), launch_with(HOST_CR0, 0, bit),
	       "26.2.2, A.7");
	report("VMLAUNCH, guest CR0 without the FIXED0 bit",
	       REASON_INVALID_GUEST, launch_with(GUEST_CR0, 0, bit),
	       "26.3.1.1, A.7");
}

/*
 * An entry in the HLT state that succeeds wakes at once for the
 * interrupt window (IF = 1, 25.2) instead of halting L1 for good.
 */
static u64 launch_hlt(void)
{
	fresh_vmcs();
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmreadz(CPU_BASED_VM_EXEC_CONTROL) |
		CPU_BASED_INTR_WINDOW_EXITING);
	vmwrite(GUEST_RFLAGS, vmreadz(GUEST_RFLAGS) | BIT(9));	/* IF */
	vmwrite(GUEST_ACTIVITY_STATE, 1);
	return launch();
}

static void honour_misc_hlt(void)
{
	report("VMLAUNCH, active", REASON_VMCALL,
	       launch_with(GUEST_ACTIVITY_STATE, 0, ~0ull), "26.3.1.5");
	report_known("VMLAUNCH, HLT activity state not in IA32_VMX_MISC",
		     REASON_INVALID_GUEST, launch_hlt(), REASON_INTR_WINDOW,
		     "26.3.1.5, A.6",
		     "stock 6.1 takes the HLT activity state whatever IA32_VMX_MISC says");
}

static struct { u64 lo, hi; } inv_desc;

static void honour_ept_vpid(void)
{
	u64 rf;

	if (nvmx_env.a & BIT_ULL(32))
		report("INVVPID without IA32_VMX_EPT_VPID_CAP bit 32", UD_VECTOR,
		       kvm_asm_safe("invvpid %[d], %[t]", [d] "m"(inv_desc),
				    [t] "r"(2ull)), "30.3 INVVPID");
	if (!(nvmx_env.a & BIT_ULL(25)))
		return;
	inv_desc.lo = 0;
	asm volatile("invept %[d], %[t]\n\t"
		     "lea -128(%%rsp), %%rsp\n\t"
		     "pushf\n\t"
		     "pop %[rf]\n\t"
		     "lea 128(%%rsp), %%rsp"
		     : [rf] "=r"(rf) : [d] "m"(inv_desc), [t] "r"(1ull)
		     : "cc", "memory");
	report("INVEPT type 1 without IA32_VMX_EPT_VPID_CAP bit 25: ZF",
	       BIT(6), rf & 0x8d5, "30.3 INVEPT");
	report("its VM-instruction error", ERR_INV_OPERAND,
	       vmreadz(VM_INSTRUCTION_ERROR), "30.3 INVEPT, 30.4");
}

/*
 * Without the TRUE MSRs (IA32_VMX_BASIC bit 55 = 0) the non-TRUE ones give
 * the allowed settings, where every default1 control must be 1 (A.2).
 */
static u64 launch_default1(void)
{
	fresh_vmcs();
	vmwrite(PIN_BASED_VM_EXEC_CONTROL,
		vmreadz(PIN_BASED_VM_EXEC_CONTROL) | DEFAULT1_PIN);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL,
		vmreadz(CPU_BASED_VM_EXEC_CONTROL) | DEFAULT1_PROC);
	vmwrite(VM_EXIT_CONTROLS, vmreadz(VM_EXIT_CONTROLS) | DEFAULT1_EXIT);
	vmwrite(VM_ENTRY_CONTROLS, vmreadz(VM_ENTRY_CONTROLS) | DEFAULT1_ENTRY);
	return launch();
}

static void honour_basic_true(void)
{
	report("VMLAUNCH, every default1 control 1", REASON_VMCALL,
	       launch_default1(), "A.2, 26.2.1");
	report_known("VMLAUNCH, CR3-load and -store exiting 0 (default1)",
		     OC_VALID(ERR_INVALID_CONTROL),
		     launch_with(CPU_BASED_VM_EXEC_CONTROL, 0,
				 CPU_BASED_CR3_LOAD_EXITING |
				 CPU_BASED_CR3_STORE_EXITING),
		     REASON_VMCALL, "A.2, 26.2.1.1",
		     "stock 6.1 checks the TRUE MSRs whatever IA32_VMX_BASIC bit 55 says");
}

static void honour_run(int i)
{
	report("L1's RDMSR of the restricted MSR", nvmx_env.msr_val,
	       rdmsr(nvmx_env.msr), "A.1");
	switch (nvmx_env.honour) {
	case H_CONTROLS:
		honour_controls();
		break;
	case H_CR0_FIXED0:
		honour_cr0_fixed0();
		break;
	case H_MISC_HLT:
		honour_misc_hlt();
		break;
	case H_BASIC_TRUE:
		honour_basic_true();
		break;
	default:
		honour_ept_vpid();
		break;
	}
}

void l1_guest_code(struct vmx_pages *vmx)
{
	u64 cr0;

	l1_vmx = vmx;
	switch (nvmx_env.mode) {
	case MODE_READ_ALL:
		l1_read_all();
		GUEST_DONE();
		break;
	case MODE_BUSY:
		GUEST_ASSERT(prepare_for_vmx_operation(vmx));
		GUEST_SYNC(1);
		vmxoff();
		GUEST_SYNC(2);
		GUEST_DONE();
		break;
	default:
		break;
	}
	if (nvmx_env.honour == H_CR0_FIXED0) {
		/* VMXON: #GP(0) with a CR0 bit clear that FIXED0 sets (23.8) */
		GUEST_ASSERT(prepare_for_vmx_operation(vmx));
		vmxoff();
		cr0 = get_cr0();
		asm volatile("mov %0, %%cr0" : : "r"(cr0 & ~nvmx_env.a));
		report("VMXON without the CR0 bit FIXED0 sets", GP_VECTOR,
		       kvm_asm_safe("vmxon %[pa]", [pa] "m"(vmx->vmxon_gpa)),
		       "30.3 VMXON, A.7");
		asm volatile("mov %0, %%cr0" : : "r"(cr0));
	}
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, 1, honour_run);
}

/* ---------------------------------------------------------------------- */
/* Host: the classification                                                 */

enum verdict { V_ACCEPT, V_EITHER, V_REJECT };

static const char * const verdict_name[] = { "restricts", "either", "claims more" };

struct caps {
	u64 sup[NR_CAP_MSRS];	/* /dev/kvm's feature MSRs: the module's */
	u64 cur[NR_CAP_MSRS];	/* the vCPU's, as created */
	bool has[NR_CAP_MSRS];
};

static struct caps caps;

static bool subset(u64 a, u64 b)	/* a's bits are all in b */
{
	return !(a & ~b);
}

static enum verdict worst(enum verdict a, enum verdict b)
{
	return a > b ? a : b;
}

/* A.1 IA32_VMX_BASIC */
static enum verdict classify_basic(u64 v, u64 s)
{
	const u64 features = BIT_ULL(49) | BIT_ULL(54) | BIT_ULL(55) |
			     BIT_ULL(56);
	const u64 reserved = BIT_ULL(31) | GENMASK_ULL(47, 45) |
			     GENMASK_ULL(63, 57);
	u64 size = (v >> 32) & 0x1fff, ssize = (s >> 32) & 0x1fff;
	enum verdict r = V_ACCEPT;

	if ((v & 0x7fffffff) != (s & 0x7fffffff) ||	/* revision */
	    !subset(v & (features | reserved), s) || size < ssize)
		return V_REJECT;
	if (size > ssize || (v & BIT_ULL(48)) ||
	    ((v >> 50) & 0xf) != ((s >> 50) & 0xf))
		r = V_EITHER;
	return r;
}

/* A.3-A.5: allowed 0-settings in 31:0, allowed 1-settings in 63:32 */
static enum verdict classify_ctls(u64 v, u64 s)
{
	u32 lo = v, hi = v >> 32, slo = s, shi = s >> 32;

	if (!subset(slo, lo) || !subset(hi, shi))
		return V_REJECT;
	return subset(lo, hi) ? V_ACCEPT : V_EITHER;
}

/* A.6 IA32_VMX_MISC */
static enum verdict classify_misc(u64 v, u64 s, bool timer)
{
	const u64 features = GENMASK_ULL(8, 5) | BIT_ULL(14) | BIT_ULL(15) |
			     GENMASK_ULL(30, 28);
	const u64 reserved = GENMASK_ULL(13, 9) | BIT_ULL(31);
	const u64 cr3 = GENMASK_ULL(24, 16), msrs = GENMASK_ULL(27, 25);

	if (!subset(v & (features | reserved), s) ||
	    (v & cr3) > (s & cr3) || (v & msrs) > (s & msrs) ||
	    (v >> 32) != (s >> 32))
		return V_REJECT;
	if ((v & 0x1f) != (s & 0x1f))
		return timer ? V_REJECT : V_EITHER;
	return V_ACCEPT;
}

/* A.7, A.8: FIXED0 bits must be 1; a bit FIXED1 forbids contradicts it */
static enum verdict classify_fixed0(u64 v, u64 s, u64 fixed1)
{
	if (!subset(s, v))
		return V_REJECT;
	return subset(v, fixed1) ? V_ACCEPT : V_EITHER;
}

static enum verdict classify(int i, u64 v)
{
	u64 s = caps.sup[i];
	u32 msr = CAP_MSR(i);

	switch (msr) {
	case MSR_IA32_VMX_BASIC:
		return classify_basic(v, s);
	case MSR_IA32_VMX_PINBASED_CTLS:
	case MSR_IA32_VMX_PROCBASED_CTLS:
	case MSR_IA32_VMX_EXIT_CTLS:
	case MSR_IA32_VMX_ENTRY_CTLS:
		/* KVM derives them from the TRUE MSRs (A.2) */
		return worst(classify_ctls(v, s), V_EITHER);
	case MSR_IA32_VMX_TRUE_PINBASED_CTLS:
	case MSR_IA32_VMX_TRUE_PROCBASED_CTLS:
	case MSR_IA32_VMX_TRUE_EXIT_CTLS:
	case MSR_IA32_VMX_TRUE_ENTRY_CTLS:
	case MSR_IA32_VMX_PROCBASED_CTLS2:
		return classify_ctls(v, s);
	case MSR_IA32_VMX_MISC:
		return classify_misc(v, s, caps.sup[0xd] >> 32 &
				     PIN_BASED_VMX_PREEMPTION_TIMER);
	case MSR_IA32_VMX_CR0_FIXED0:
	case MSR_IA32_VMX_CR4_FIXED0:
		return classify_fixed0(v, s, caps.cur[i + 1]);
	case MSR_IA32_VMX_CR0_FIXED1:
	case MSR_IA32_VMX_CR4_FIXED1:
		/* KVM derives them from guest CPUID */
		return subset(v, caps.cur[i]) ? V_EITHER : V_REJECT;
	case MSR_IA32_VMX_VMCS_ENUM:
		/*
		 * A.9: bits 9:1, the highest field index; the rest 0.  KVM's
		 * ABI takes any value (upstream's vmx_msrs_test writes ~0 and
		 * requires it): VMREAD and VMWRITE refuse the fields the module
		 * does not have whatever the MSR claims.
		 */
		if (v & ~0x3feull || (v & 0x3fe) > (s & 0x3fe))
			return V_EITHER;
		return V_ACCEPT;
	case MSR_IA32_VMX_EPT_VPID_CAP:
	case MSR_IA32_VMX_VMFUNC:
		return subset(v, s) ? V_ACCEPT : V_REJECT;
	default:
		return V_REJECT;	/* not a VMX capability MSR of 6.1 */
	}
}

/* A restriction of @s for MSR @i: features and allowed 1-settings away */
static u64 restrict_value(int i, u64 s, u64 r)
{
	u32 lo = s, hi = s >> 32, free1 = hi & ~lo;

	switch (CAP_MSR(i)) {
	case MSR_IA32_VMX_TRUE_PINBASED_CTLS:
	case MSR_IA32_VMX_TRUE_PROCBASED_CTLS:
	case MSR_IA32_VMX_TRUE_EXIT_CTLS:
	case MSR_IA32_VMX_TRUE_ENTRY_CTLS:
	case MSR_IA32_VMX_PROCBASED_CTLS2:
	case MSR_IA32_VMX_PINBASED_CTLS:
	case MSR_IA32_VMX_PROCBASED_CTLS:
	case MSR_IA32_VMX_EXIT_CTLS:
	case MSR_IA32_VMX_ENTRY_CTLS:
		/* some free controls must be 1, some others may not be 1 */
		lo |= free1 & (u32)r & (u32)(r >> 32);
		hi &= ~(free1 & ~lo & (u32)(r >> 16));
		return lo | (u64)hi << 32;
	case MSR_IA32_VMX_BASIC:
		return s & ~(r & (BIT_ULL(49) | BIT_ULL(54) | BIT_ULL(55) |
				  BIT_ULL(56)));
	case MSR_IA32_VMX_MISC:
		s &= ~(r & (GENMASK_ULL(8, 5) | BIT_ULL(14) | BIT_ULL(15) |
			    GENMASK_ULL(30, 28)));
		if ((r & 0x1f0000) && (s & GENMASK_ULL(24, 16)))
			s -= 1ull << 16;
		if ((r & 0x200000) && (s & GENMASK_ULL(27, 25)))
			s -= 1ull << 25;
		return s;
	case MSR_IA32_VMX_CR0_FIXED0:
	case MSR_IA32_VMX_CR4_FIXED0:
		return s | (caps.cur[i + 1] & r);
	case MSR_IA32_VMX_VMCS_ENUM:
		return (s & 0x3fe) - ((r % 4) << 1 & (s & 0x3fe));
	default:
		return s & r;
	}
}

static u64 rng;

static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static u64 random_value(int i)
{
	u64 s = caps.sup[i];

	switch (rnd() % 5) {
	case 0:
		return rnd();
	case 1:
		return s ^ BIT_ULL(rnd() % 64);
	case 2:
		return s ^ BIT_ULL(rnd() % 64) ^ BIT_ULL(rnd() % 64) ^
		       BIT_ULL(rnd() % 64);
	case 3:
		return s | BIT_ULL(rnd() % 64);
	default:
		return restrict_value(i, s, rnd());
	}
}

/* KVM_SET_MSRS of one MSR: did it set it? */
static bool set_msr(struct kvm_vcpu *vcpu, u32 msr, u64 v)
{
	return _vcpu_set_msr(vcpu, msr, v) == 1;
}

static bool get_msr(struct kvm_vcpu *vcpu, u32 msr, u64 *v)
{
	struct {
		struct kvm_msrs header;
		struct kvm_msr_entry entry;
	} buf = { .header.nmsrs = 1, .entry.index = msr };

	if (__vcpu_ioctl(vcpu, KVM_GET_MSRS, &buf.header) != 1)
		return false;
	*v = buf.entry.data;
	return true;
}

static u64 nr_wrong, nr_count[3][2];

static void hostile_one(struct kvm_vcpu *vcpu, int i, u64 v)
{
	enum verdict verdict = classify(i, v);
	u32 msr = CAP_MSR(i);
	u64 before = 0, after = 0;
	bool had, done;

	had = get_msr(vcpu, msr, &before);
	done = set_msr(vcpu, msr, v);
	nr_count[verdict][done]++;
	if ((verdict == V_REJECT && done) || (verdict == V_ACCEPT && !done)) {
		nr_wrong++;
		ksft_print_msg("MSR 0x%x <- 0x%lx (%s; supported 0x%lx): %s\n",
			       msr, v, verdict_name[verdict], caps.sup[i],
			       done ? "accepted" : "refused");
	}
	if (!done) {
		if (had && (!get_msr(vcpu, msr, &after) || after != before)) {
			nr_wrong++;
			ksft_print_msg("MSR 0x%x changed by a refused write: 0x%lx -> 0x%lx\n",
				       msr, before, after);
		}
		return;
	}
	/* The non-TRUE control MSRs read as derived (none is stored) */
	if (msr < MSR_IA32_VMX_PINBASED_CTLS || msr > MSR_IA32_VMX_ENTRY_CTLS) {
		if (!get_msr(vcpu, msr, &after) || after != v) {
			nr_wrong++;
			ksft_print_msg("MSR 0x%x <- 0x%lx accepted, reads 0x%lx\n",
				       msr, v, after);
		}
	}
	TEST_ASSERT(set_msr(vcpu, msr, caps.cur[i]),
		    "MSR 0x%x: the vCPU's first value 0x%lx refused", msr,
		    caps.cur[i]);
}

/*
 * KVM_SET_MSRS of three entries, the second claiming more: it sets the
 * first and stops there (returns 1, "fewer than asked").
 */
static void batch_stops(struct kvm_vcpu *vcpu)
{
	int pin = MSR_IA32_VMX_TRUE_PINBASED_CTLS - 0x480;
	int proc = MSR_IA32_VMX_TRUE_PROCBASED_CTLS - 0x480;
	struct {
		struct kvm_msrs header;
		struct kvm_msr_entry entry[3];
	} buf = { .header.nmsrs = 3 };
	u32 not1 = ~(u32)(caps.sup[pin] >> 32);
	int r;

	buf.entry[0].index = CAP_MSR(pin);
	buf.entry[0].data = caps.cur[pin];
	buf.entry[1].index = CAP_MSR(pin);
	buf.entry[1].data = caps.sup[pin] | (u64)(not1 & -not1) << 32;
	buf.entry[2].index = CAP_MSR(proc);
	buf.entry[2].data = caps.cur[proc];
	r = __vcpu_ioctl(vcpu, KVM_SET_MSRS, &buf.header);
	if (r != 1) {
		ksft_print_msg("KVM_SET_MSRS of 3, the second claiming more: %d set\n",
			       r);
		nr_wrong++;
	}
}

static void read_caps(struct kvm_vcpu *vcpu)
{
	int i;

	for (i = 0; i < NR_CAP_MSRS; i++) {
		caps.has[i] = get_msr(vcpu, CAP_MSR(i), &caps.cur[i]);
		caps.sup[i] = caps.has[i] ? kvm_get_feature_msr(CAP_MSR(i)) : 0;
	}
}

static struct kvm_vm *new_vm(struct kvm_vcpu **vcpu, u32 mode)
{
	struct kvm_vm *vm = nvmx_host_create_vm(vcpu, NULL);

	nvmx_env.mode = mode;
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(*vcpu);
	return vm;
}

static void test_hostile_writes(u32 per_msr, u64 seed)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = new_vm(&vcpu, MODE_READ_ALL);
	u32 n;
	int i;

	read_caps(vcpu);
	batch_stops(vcpu);
	rng = seed ? seed : 1;
	for (i = 0; i < NR_CAP_MSRS; i++) {
		hostile_one(vcpu, i, caps.cur[i]);
		hostile_one(vcpu, i, caps.sup[i]);
		for (n = 0; n < per_msr; n++)
			hostile_one(vcpu, i, random_value(i));
	}
	ksft_print_msg("seed 0x%lx, %u values per MSR; accepted/refused:\n",
		       seed, per_msr);
	ksft_print_msg("  restricts %lu/%lu, either %lu/%lu, claims more %lu/%lu\n",
		       nr_count[V_ACCEPT][1], nr_count[V_ACCEPT][0],
		       nr_count[V_EITHER][1], nr_count[V_EITHER][0],
		       nr_count[V_REJECT][1], nr_count[V_REJECT][0]);
	kvm_vm_free(vm);
	ksft_test_result(!nr_wrong, "hostile_writes\n");
}

/* Run L1 until GUEST_DONE, without freeing the VM; @message gets SYNCs */
static void run_to_done(struct kvm_vcpu *vcpu, void (*message)(struct ucall *))
{
	struct ucall uc;

	sync_global_to_guest(vcpu->vm, nvmx_env);
	for (;;) {
		switch (nvmx_run_to_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			message(&uc);
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_2(uc, "values: %#lx, %#lx");
			break;
		case UCALL_DONE:
			return;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
}

static void no_message(struct ucall *uc)
{
	TEST_FAIL("unexpected message 0x%lx from L1", uc->args[0]);
}

/* The non-TRUE control MSRs: the TRUE ones with the default1 class (A.2) */
static u64 non_true(int i, const u64 *want)
{
	static const u32 default1[] = { 0, DEFAULT1_PIN, DEFAULT1_PROC,
					DEFAULT1_EXIT, DEFAULT1_ENTRY };

	return want[0xc + i] | default1[i];
}

/* L1 reads a restriction of every MSR at once */
static void test_l1_reads(u64 seed)
{
	u64 want[NR_CAP_MSRS];
	u64 got[NR_CAP_MSRS];
	u8 vec[NR_CAP_MSRS];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = new_vm(&vcpu, MODE_READ_ALL);
	int i, wrong = 0;

	rng = seed ^ 0x5eedull;
	for (i = 0; i < NR_CAP_MSRS; i++) {
		want[i] = caps.cur[i];
		if (!caps.has[i] || CAP_MSR(i) <= MSR_IA32_VMX_ENTRY_CTLS)
			continue;
		want[i] = restrict_value(i, caps.cur[i], rnd());
		if (classify(i, want[i]) != V_ACCEPT ||
		    !set_msr(vcpu, CAP_MSR(i), want[i])) {
			ksft_print_msg("MSR 0x%x <- 0x%lx (%s) refused\n",
				       CAP_MSR(i), want[i],
				       verdict_name[classify(i, want[i])]);
			wrong += classify(i, want[i]) == V_ACCEPT;
			want[i] = caps.cur[i];
		}
	}
	for (i = 1; i <= 4; i++)
		want[i] = non_true(i, want);
	run_to_done(vcpu, no_message);
	sync_global_from_guest(vm, l1_msr_vals);
	sync_global_from_guest(vm, l1_msr_vector);
	memcpy(got, l1_msr_vals, sizeof(got));
	memcpy(vec, l1_msr_vector, sizeof(vec));
	for (i = 0; i < NR_CAP_MSRS; i++) {
		if (!caps.has[i]) {
			/* Not a VMX MSR KVM has: #GP (A.1) */
			if (vec[i] != GP_VECTOR) {
				ksft_print_msg("L1's RDMSR 0x%x: vector %u, expected #GP\n",
					       CAP_MSR(i), vec[i]);
				wrong++;
			}
			continue;
		}
		if (vec[i] || got[i] != want[i]) {
			ksft_print_msg("L1's RDMSR 0x%x: 0x%lx (vector %u), expected 0x%lx\n",
				       CAP_MSR(i), got[i], vec[i], want[i]);
			wrong++;
		}
	}
	kvm_vm_free(vm);
	ksft_test_result(!wrong, "l1_reads_restrictions\n");
}

static struct kvm_vcpu *busy_vcpu;
static int busy_wrong;

static void busy_message(struct ucall *uc)
{
	int i = MSR_IA32_VMX_TRUE_PROCBASED_CTLS - 0x480;
	bool done = set_msr(busy_vcpu, CAP_MSR(i), caps.cur[i]);
	bool after = uc->args[1] == 2;

	/* 1: in VMX operation, refused; 2: after VMXOFF, taken */
	if (done != after) {
		ksft_print_msg("%s VMXOFF: write %s\n", after ? "after" : "before",
			       done ? "accepted" : "refused");
		busy_wrong++;
	}
}

static void test_busy(void)
{
	struct kvm_vm *vm = new_vm(&busy_vcpu, MODE_BUSY);

	run_to_done(busy_vcpu, busy_message);
	kvm_vm_free(vm);
	ksft_test_result(!busy_wrong, "busy_in_vmx_operation\n");
}

/* ---------------------------------------------------------------------- */
/* Host: honoured restrictions                                              */

struct honour_case {
	const char *name;
	enum honour kind;
	u32 msr;
	u32 field;
	u64 a[3], b[3];		/* candidates, first available wins */
};

static const struct honour_case honour_cases[] = {
	{ "honoured_pinbased", H_CONTROLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS,
	  PIN_BASED_VM_EXEC_CONTROL,
	  { PIN_BASED_NMI_EXITING, PIN_BASED_VIRTUAL_NMIS },
	  { PIN_BASED_EXT_INTR_MASK } },
	{ "honoured_procbased", H_CONTROLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
	  CPU_BASED_VM_EXEC_CONTROL,
	  { CPU_BASED_HLT_EXITING, CPU_BASED_INVLPG_EXITING,
	    CPU_BASED_MWAIT_EXITING },
	  { CPU_BASED_RDTSC_EXITING, CPU_BASED_RDPMC_EXITING,
	    CPU_BASED_MOV_DR_EXITING } },
	{ "honoured_procbased2", H_CONTROLS, MSR_IA32_VMX_PROCBASED_CTLS2,
	  SECONDARY_VM_EXEC_CONTROL,
	  { SECONDARY_EXEC_ENABLE_RDTSCP, SECONDARY_EXEC_WBINVD_EXITING,
	    SECONDARY_EXEC_ENABLE_INVPCID },
	  { SECONDARY_EXEC_RDRAND_EXITING, SECONDARY_EXEC_RDSEED_EXITING,
	    SECONDARY_EXEC_ENABLE_INVPCID } },
	{ "honoured_exit", H_CONTROLS, MSR_IA32_VMX_TRUE_EXIT_CTLS,
	  VM_EXIT_CONTROLS,
	  { VM_EXIT_SAVE_IA32_PAT, VM_EXIT_SAVE_IA32_EFER },
	  { VM_EXIT_ACK_INTR_ON_EXIT, VM_EXIT_LOAD_IA32_PAT } },
	{ "honoured_entry", H_CONTROLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
	  VM_ENTRY_CONTROLS,
	  { VM_ENTRY_LOAD_DEBUG_CONTROLS, VM_ENTRY_LOAD_IA32_EFER },
	  { VM_ENTRY_LOAD_IA32_PAT } },
	{ "honoured_cr0_fixed0", H_CR0_FIXED0, MSR_IA32_VMX_CR0_FIXED0, 0,
	  { X86_CR0_WP } },
	{ "honoured_misc_hlt", H_MISC_HLT, MSR_IA32_VMX_MISC, 0, { BIT(6) } },
	{ "honoured_ept_vpid_cap", H_EPT_VPID, MSR_IA32_VMX_EPT_VPID_CAP, 0,
	  { BIT_ULL(32) | BIT_ULL(25) } },
	{ "honoured_basic_no_true_ctls", H_BASIC_TRUE, MSR_IA32_VMX_BASIC, 0,
	  { BIT_ULL(55) } },
};

static const char *honour_name;

static void honour_message(struct ucall *uc)
{
	nvmx_host_message(uc, honour_name);
}

/* The first candidate @c[] whose bits are all in @avail, not @not */
static u64 pick(const u64 *c, u64 avail, u64 not)
{
	int i;

	for (i = 0; i < 3 && c[i]; i++)
		if (c[i] != not && subset(c[i], avail))
			return c[i];
	return 0;
}

static void test_honour(const struct honour_case *h)
{
	int i = h->msr - 0x480;
	u64 cur = caps.cur[i], v = 0;
	u32 lo = cur, hi = cur >> 32;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	nvmx_env.honour = h->kind;
	nvmx_env.field = h->field;
	nvmx_env.a = 0;
	nvmx_env.b = 0;
	switch (h->kind) {
	case H_CONTROLS:
		nvmx_env.a = pick(h->a, hi & ~lo, 0);
		nvmx_env.b = pick(h->b, hi & ~lo, nvmx_env.a);
		v = (lo | nvmx_env.b) | (u64)(hi & ~nvmx_env.a) << 32;
		break;
	case H_CR0_FIXED0:
		if (subset(h->a[0], caps.cur[i + 1]))
			nvmx_env.a = h->a[0];
		v = cur | nvmx_env.a;
		break;
	default:
		nvmx_env.a = cur & h->a[0];
		v = cur & ~nvmx_env.a;
		break;
	}
	if (!nvmx_env.a || (h->kind == H_CONTROLS && !nvmx_env.b)) {
		ksft_test_result_skip("%s: MSR 0x%x 0x%lx offers nothing to take away\n",
				      h->name, h->msr, cur);
		return;
	}
	vm = new_vm(&vcpu, MODE_HONOUR);
	if (!set_msr(vcpu, h->msr, v)) {
		ksft_test_result_fail("%s: MSR 0x%x <- 0x%lx refused\n",
				      h->name, h->msr, v);
		kvm_vm_free(vm);
		return;
	}
	ksft_print_msg("%s: MSR 0x%x 0x%lx -> 0x%lx (a 0x%lx, b 0x%lx)\n",
		       h->name, h->msr, cur, v, nvmx_env.a, nvmx_env.b);
	nvmx_env.msr = h->msr;
	nvmx_env.msr_val = v;
	honour_name = h->name;
	nvmx_host_run_vm(vm, vcpu, honour_message);
}

static void help(const char *name)
{
	printf("usage: %s [-s SEED] [-n VALUES_PER_MSR]\n", name);
	exit(KSFT_FAIL);
}

int main(int argc, char *argv[])
{
	u64 seed = 0x636170736d7372ull;	/* "capsmsr" */
	u32 per_msr = 250;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int opt;
	u32 i;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			per_msr = strtoul(optarg, NULL, 0);
			break;
		default:
			help(argv[0]);
		}
	}

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	ksft_print_header();
	ksft_set_plan(3 + ARRAY_SIZE(honour_cases));

	vm = new_vm(&vcpu, MODE_READ_ALL);
	read_caps(vcpu);
	kvm_vm_free(vm);
	for (i = 0; i < NR_CAP_MSRS; i++)
		ksft_print_msg("MSR 0x%x: %s 0x%lx, supported 0x%lx\n",
			       CAP_MSR(i), caps.has[i] ? "vCPU" : "none",
			       caps.cur[i], caps.sup[i]);

	test_hostile_writes(per_msr, seed);
	test_l1_reads(seed);
	test_busy();
	for (i = 0; i < ARRAY_SIZE(honour_cases); i++)
		test_honour(&honour_cases[i]);
	return nvmx_host_finish();
}
