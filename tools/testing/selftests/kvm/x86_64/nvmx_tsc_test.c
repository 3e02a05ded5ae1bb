// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_tsc_test: L2's TSC with L1's TSC offsetting and scaling, composed
 * with L0's own scaling of L1's TSC.
 *
 * SDM Vol. 3C 25.3: with "use TSC offsetting" 1 (and "RDTSC exiting" 0),
 * RDTSC, RDTSCP and RDMSR of IA32_TIME_STAMP_COUNTER return the TSC plus
 * the TSC offset; with "use TSC scaling" 1 too, the TSC times the TSC
 * multiplier, shifted right by 48 bits, plus the offset.  "Use TSC scaling"
 * without "use TSC offsetting" changes nothing.  For L2 the TSC is L1's,
 * itself the host's as L0 scales and offsets it for L1.
 *
 * The emulated VMX host's TSC counts executed instructions, and a guest
 * running with RFLAGS.IF = 0 is never interrupted there: the same
 * instructions between two RDTSCs give the same host TSC delta in L1 and
 * in L2.  So each case checks, exactly up to rounding:
 *
 *   - L2's RDTSC delta over a fixed loop is L1's delta over the same loop
 *     times L1's multiplier (>> 48);
 *   - L2's RDTSC, RDTSCP and RDMSR(IA32_TSC) values (L1's MSR bitmap, all
 *     zeros, lets the RDMSR through), in that order, lie
 *     between L1's formula applied to L1's TSC read just before VMLAUNCH
 *     and just after the VM exit, and RDTSCP returns L1's IA32_TSC_AUX;
 *   - with "RDTSC exiting", RDTSC and RDTSCP exit (reasons 16 and 51).
 *
 * The cases run three times: in a VM whose TSC L0 does not scale, and in
 * ones whose TSC frequency the host set to 1.5 and 0.5 times its own
 * (KVM_SET_TSC_KHZ), so that L0's multiplier for L1 and L1's for L2 must be
 * composed.  The last two runs are skipped without KVM_CAP_TSC_CONTROL,
 * and the scaling cases when L1 is not offered "use TSC scaling".  The
 * multipliers 0 and 1 enter too (the SDM has no rule on the value), also
 * where the composition with L0's rounds to 0, which the emulated
 * processor refuses in vmcs02; stock gives L1 VMfailValid 7 there (a
 * reported deviation).
 */
#define _GNU_SOURCE
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* the header's */
	bool l0_tsc_control;	/* KVM_CAP_TSC_CONTROL: L0 scales TSCs */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

#define EXIT_REASON_RDTSC_NR	16
#define EXIT_REASON_RDTSCP_NR	51
#define MSR_TSC_AUX_NR		0xc0000103
#define TSC_AUX_VALUE		0x5a3c1
#define RATIO_ONE		BIT_ULL(48)

/*
 * RDTSC into R8, a loop of 20000 iterations, RDTSC into R9: the span L1
 * and L2 both measure.  Clobbers RAX, RCX, RDX.
 */
#define TSC_SPAN							\
	"rdtsc\n\t"							\
	"shl $32, %rdx\n\t"						\
	"or %rdx, %rax\n\t"						\
	"mov %rax, %r8\n\t"						\
	"mov $20000, %ecx\n"						\
	"1:\tdec %ecx\n\t"						\
	"jnz 1b\n\t"							\
	"rdtsc\n\t"							\
	"shl $32, %rdx\n\t"						\
	"or %rdx, %rax\n\t"						\
	"mov %rax, %r9\n\t"

u64 l1_span[2];

asm(".pushsection .text\n"
	/*
	 * L2: the span (R8, R9), then RDTSCP (R10, TSC_AUX in R11) and
	 * RDMSR of IA32_TSC (R12).
	 */
	"l2_tsc:\n\t"
	TSC_SPAN
	"rdtscp\n\t"
	"shl $32, %rdx\n\t"
	"or %rdx, %rax\n\t"
	"mov %rax, %r10\n\t"
	"mov %rcx, %r11\n\t"
	"mov $0x10, %ecx\n\t"
	"rdmsr\n\t"
	"shl $32, %rdx\n\t"
	"or %rdx, %rax\n\t"
	"mov %rax, %r12\n"
	"l2_tsc_exit:\n\t"
	"vmcall\n\t"
	"ud2\n"
	/* L2 under "RDTSC exiting": each of the two exits. */
	"l2_rdtsc_exiting:\n\t"
	"rdtsc\n"
	"l2_rdtsc_exiting_rdtscp:\n\t"
	"rdtscp\n"
	"l2_rdtsc_exiting_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	/* L1: the same span, into l1_span[]. */
	"l1_tsc_span:\n\t"
	TSC_SPAN
	"mov %r8, l1_span(%rip)\n\t"
	"mov %r9, l1_span+8(%rip)\n\t"
	"ret\n"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

static bool tsc_scaling_offered(void)
{
	return (rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) &
	       SECONDARY_EXEC_TSC_SCALING;
}

/* L1's formula for L2's TSC (25.3) at L1's TSC @t. */
static u64 l2_tsc_of(u64 t, u64 mult, u64 offset)
{
	return (u64)(((__uint128_t)t * mult) >> 48) + offset;
}

/* An L2 TSC value @got that must lie in [@lo, @hi] (u64 arithmetic). */
static void report_between(const char *field, u64 lo, u64 hi, u64 got)
{
	if (got - lo > hi - lo)
		report(field, lo, got, "25.3 (lower bound shown)");
}

/*
 * vmcs12 with @scale ("use TSC scaling" and the multiplier @mult) and
 * @offsetting ("use TSC offsetting" and @offset); false (a skip) if L1 is
 * not offered them.
 */
static bool tsc_controls(bool offsetting, u64 offset, bool scale, u64 mult)
{
	u32 sec = SECONDARY_EXEC_ENABLE_RDTSCP;

	if (scale && !tsc_scaling_offered()) {
		skip("L1 is not offered \"use TSC scaling\" (L0 does not scale TSCs)");
		return false;
	}
	if (scale)
		sec |= SECONDARY_EXEC_TSC_SCALING;
	if (!ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_ACTIVATE_SECONDARY_CONTROLS |
			CPU_BASED_USE_MSR_BITMAPS |
			(offsetting ? CPU_BASED_USE_TSC_OFFSETTING : 0),
			CPU_BASED_RDTSC_EXITING) ||
	    !ctl_update(SECONDARY_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS2,
			sec, 0)) {
		skip("TSC offsetting, MSR bitmaps or enable RDTSCP not offered");
		return false;
	}
	vmwrite(TSC_OFFSET, offset);
	if (scale)
		vmwrite(TSC_MULTIPLIER, mult);
	return true;
}

/*
 * Run L2's TSC reads with @scale ("use TSC scaling" and the multiplier
 * @mult) and @offsetting ("use TSC offsetting" and @offset).
 */
static void check_l2_tsc(bool offsetting, u64 offset, bool scale, u64 mult)
{
	u64 eff_mult = offsetting && scale ? mult : RATIO_ONE;
	u64 eff_off = offsetting ? offset : 0;
	u64 d1, d2, want, slack, t1a, t1b, lo, hi;

	if (!tsc_controls(offsetting, offset, scale, mult))
		return;
	wrmsr(MSR_TSC_AUX_NR, TSC_AUX_VALUE);

	nvmx_call_asm(ASM_LABEL(l1_tsc_span), 0);
	d1 = l1_span[1] - l1_span[0];

	l2_setup(ASM_LABEL(l2_tsc));
	t1a = rdtsc();
	if (nvmx_l2_run(1)) {
		report_known("VMLAUNCH succeeded (VM-instruction error)", 0,
			     vmreadz(VM_INSTRUCTION_ERROR), 7, "25.3",
			     "stock 6.1 gives vmcs02 a composed multiplier of 0, which the processor refuses");
		return;
	}
	t1b = rdtsc();
	if (!nvmx_vmcall_at(ASM_LABEL(l2_tsc_exit)))
		return;

	/*
	 * Rounding: each delta is a difference of two floors (1 either
	 * way), and L1's error grows by L1's multiplier.
	 */
	want = l2_tsc_of(d1, eff_mult, 0);
	slack = (eff_mult >> 48) + 2;
	d2 = nvmx_gpr_out[9] - nvmx_gpr_out[8];
	if (d2 - want + slack > 2 * slack)
		report("L2's RDTSC delta over the loop (L1's delta scaled)",
		       want, d2, "25.3");

	lo = l2_tsc_of(t1a, eff_mult, eff_off);
	hi = l2_tsc_of(t1b, eff_mult, eff_off);
	report_between("L2's first RDTSC", lo, hi, nvmx_gpr_out[8]);
	report_between("L2's second RDTSC", nvmx_gpr_out[8], hi,
		       nvmx_gpr_out[9]);
	report_between("L2's RDTSCP", nvmx_gpr_out[9], hi, nvmx_gpr_out[10]);
	report_between("L2's RDMSR of IA32_TIME_STAMP_COUNTER",
		       nvmx_gpr_out[10], hi, nvmx_gpr_out[12]);
	report("L2's RDTSCP ECX (L1's IA32_TSC_AUX)", TSC_AUX_VALUE,
	       nvmx_gpr_out[11], "25.3");
}

static void tsc_scaling_offer(void)
{
	report("IA32_VMX_PROCBASED_CTLS2 allows \"use TSC scaling\" (as L0 scales)",
	       nvmx_env.l0_tsc_control, tsc_scaling_offered(), "A.3.3");
}

static void no_offsetting(void)
{
	check_l2_tsc(false, 0x1234567, false, 0);
}

static void offset_only(void)
{
	check_l2_tsc(true, 0x100000000000ull, false, 0);
}

static void offset_negative(void)
{
	check_l2_tsc(true, -0x1000000ull, false, 0);
}

static void scale_2_0(void)
{
	check_l2_tsc(true, 0x7777, true, 2 * RATIO_ONE);
}

static void scale_0_5(void)
{
	check_l2_tsc(true, 0x10000000000ull, true, RATIO_ONE / 2);
}

/* An odd fraction: about 1.3713, with low bits set. */
static void scale_odd(void)
{
	check_l2_tsc(true, -0x123456ull, true, 0x15f1f2a3b4c5dull);
}

/*
 * The smallest multiplier, 2^-48: L2's TSC all but stops.  Where L0 scales
 * L1's TSC down, the composed multiplier rounds to 0, which vmcs02 cannot
 * hold (the emulated processor refuses it): L0 gives vmcs02 1 instead, the
 * same rate to within that rounding.
 */
static void scale_tiny(void)
{
	check_l2_tsc(true, 0x5555, true, 1);
}

/*
 * A multiplier of 0: 26.2.1.1 and 25.3 name no rule, so the entry
 * succeeds and L2's TSC is the offset.  The emulated processor refuses 0
 * in vmcs02: L0 must give it 1 instead.
 */
static void scale_zero(void)
{
	check_l2_tsc(true, 0x3333, true, 0);
}

/* 25.3: "use TSC scaling" without "use TSC offsetting" is ignored. */
static void scale_without_offsetting(void)
{
	check_l2_tsc(false, 0x7777, true, 2 * RATIO_ONE);
}

/* 25.1.3: RDTSC exiting makes RDTSC and RDTSCP exit, whatever the scaling. */
static void rdtsc_exiting(void)
{
	if (!ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_ACTIVATE_SECONDARY_CONTROLS |
			CPU_BASED_USE_TSC_OFFSETTING |
			CPU_BASED_RDTSC_EXITING, 0) ||
	    !ctl_update(SECONDARY_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS2,
			SECONDARY_EXEC_ENABLE_RDTSCP, 0)) {
		skip("RDTSC exiting or enable RDTSCP not offered");
		return;
	}
	if (tsc_scaling_offered()) {
		ctl_update(SECONDARY_VM_EXEC_CONTROL,
			   MSR_IA32_VMX_PROCBASED_CTLS2,
			   SECONDARY_EXEC_TSC_SCALING, 0);
		vmwrite(TSC_MULTIPLIER, 2 * RATIO_ONE);
	}
	l2_setup(ASM_LABEL(l2_rdtsc_exiting));
	if (!l2_launch() ||
	    !nvmx_exit_at(EXIT_REASON_RDTSC_NR, ASM_LABEL(l2_rdtsc_exiting),
			  "25.1.3 (RDTSC exiting)"))
		return;
	CHECK(VM_EXIT_INSTRUCTION_LEN, 2, "27.2.5");
	if (!nvmx_l2_resume(true) ||
	    !nvmx_exit_at(EXIT_REASON_RDTSCP_NR,
			  ASM_LABEL(l2_rdtsc_exiting_rdtscp),
			  "25.1.3 (RDTSC exiting, RDTSCP)"))
		return;
	CHECK(VM_EXIT_INSTRUCTION_LEN, 3, "27.2.5");
	if (!nvmx_l2_resume(true))
		return;
	nvmx_vmcall_at(ASM_LABEL(l2_rdtsc_exiting_end));
}

static const struct nvmx_case cases[] = {
	{ "tsc_scaling_offer", tsc_scaling_offer },
	{ "no_offsetting", no_offsetting },
	{ "offset_only", offset_only },
	{ "offset_negative", offset_negative },
	{ "scale_2_0", scale_2_0 },
	{ "scale_0_5", scale_0_5 },
	{ "scale_odd", scale_odd },
	{ "scale_tiny", scale_tiny },
	{ "scale_zero", scale_zero },
	{ "scale_without_offsetting", scale_without_offsetting },
	{ "rdtsc_exiting", rdtsc_exiting },
};

#define NR_CASES	ARRAY_SIZE(cases)

void l1_guest_code(struct vmx_pages *vmx)
{
	nvmx_l1_run_table(vmx, cases, NR_CASES);
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static const char *l0_scaling;

static void host_message(struct ucall *uc)
{
	char name[96];

	snprintf(name, sizeof(name), "%s/%s", l0_scaling,
		 cases[uc->args[1]].name);
	nvmx_host_message(uc, name);
}

/* One VM: L0 scales L1's TSC by @num / @den of the host's frequency. */
static void run_vm(const char *label, unsigned int num, unsigned int den)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned int i;
	long khz;

	l0_scaling = label;
	if (num != den && !nvmx_env.l0_tsc_control) {
		for (i = 0; i < NR_CASES; i++)
			ksft_test_result_skip("%s/%s: no KVM_CAP_TSC_CONTROL\n",
					      label, cases[i].name);
		return;
	}
	vm = nvmx_host_create_vm(&vcpu, NULL);
	if (num != den) {
		khz = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
		TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ: %ld", khz);
		vcpu_ioctl(vcpu, KVM_SET_TSC_KHZ,
			   (void *)(unsigned long)(khz * num / den));
		/*
		 * L1's TSC offset was made for the host's frequency: at a
		 * slower one L1's TSC would start below 0 (near 2^64), where
		 * kvm.ko composes L2's offset as a signed number and L2's
		 * TSC is not that of L1's unsigned count.  L1 starts at 2^40.
		 */
		vcpu_set_msr(vcpu, MSR_IA32_TSC, 1ull << 40);
		ksft_print_msg("%s: L1's TSC at %ld kHz, the host's %ld kHz\n",
			       label, khz * num / den, khz);
	}
	nvmx_host_run_vm(vm, vcpu, host_message);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));

	ksft_print_header();
	ksft_set_plan(3 * NR_CASES);
	nvmx_env.l0_tsc_control = kvm_has_cap(KVM_CAP_TSC_CONTROL);
	run_vm("l0_x1", 1, 1);
	run_vm("l0_x1.5", 3, 2);
	run_vm("l0_x0.5", 1, 2);
	return nvmx_host_finish();
}
