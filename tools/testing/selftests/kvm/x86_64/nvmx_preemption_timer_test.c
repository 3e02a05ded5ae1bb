// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_preemption_timer_test: L2's VMX-preemption timer (issue 12).
 *
 * The timer counts down by 1 each time bit X of the TSC changes, X from
 * IA32_VMX_MISC bits 4:0 (SDM 25.5.1, A.6); for L2 of a KVM guest that is
 * L1's TSC.  A VM entry at L1 TSC T with value V therefore ends the count
 * at tick D = (T >> X) + V, when L1's TSC reaches D << X; the value left at
 * TSC t is D - (t >> X).  D is also what the nested state carries
 * (preemption_timer_deadline, 6.1's unit).  The emulated host's TSC follows its instruction
 * count, so the bounds below hold exactly; L1 reads its TSC right before
 * VMLAUNCH and right after the VM exit, L2 at its first and last
 * instruction (no TSC offsetting: L2's TSC is L1's).
 *
 *   expiry            V = 50000, L2 spins (bounded, IF = 1: the emulated
 *                     host takes no interrupt from a guest with IF = 0)
 *                     until exit 52, qualification 0 (27.2.1), at an RIP of
 *                     the loop, with the saved value 0 (27.3.4) and, strict
 *                     (the count is L1's TSC), L1's TSC at the exit >= D
 *   zero              V = 0: exit 52 before L2's first instruction, RIP the
 *                     entry RIP (26.7.4)
 *   saved_value       V = 2^20, "save VMX-preemption timer value": L2 spins
 *                     1000 times and VMCALLs; the saved value is below V and,
 *                     strict, within the bounds L1's and L2's TSC reads give;
 *                     VMRESUME with it, again: the second is below the first
 *   hlt               V = 200000, L2 executes CLI; HLT (HLT not intercepted):
 *                     the exit wakes it whatever IF (25.2), exit 52 past the
 *                     HLT, activity state HLT (27.3.4)
 *   no_save           without the save control the field keeps L1's value
 *   save_without_timer  "save VMX-preemption timer value" without "activate
 *                     VMX-preemption timer": VMfailValid 7 (26.2.1.2)
 *   deadline_state    V = 2^24, L2 asks the host for its state: the nested
 *                     state carries the deadline (KVM_STATE_VMX_PREEMPTION_
 *                     TIMER_DEADLINE) D, (T >> X) + V for a T between L1's
 *                     TSC reads, the same after KVM_SET_NESTED_STATE of it;
 *                     then set with D + 2^31: L2 VMCALLs, and the value
 *                     saved is the new deadline's, above V (vmcs12's value
 *                     would leave less), strict: D + 2^31 - (t >> X) for a
 *                     t between L2's last TSC read and L1's after the exit
 *
 * Stock 6.1 counts with the host's clock (an hrtimer, the TSC delta taken
 * from the TSC frequency), not with L1's TSC: the strict TSC bounds are
 * XFAIL for it (the SDM's count is the TSC's, 25.5.1).  Every spin is
 * bounded and ends with a VMCALL, never a hang.
 */
#define _GNU_SOURCE
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

struct nvmx_env {
	bool strict;
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

#define EXIT_REASON_PREEMPTION_TIMER_NR	52
#define L2_SPIN_MAX			100000000
#define L2_SPIN_SHORT			1000

/*
 * L2 bodies.  l2_spin: RDTSC into R8, loop (IF = 1) RCX times at most, and
 * only until the TSC reaches R10 (in the emulated host a guest's TSC runs
 * slow against its instruction count), RDTSC into R9, VMCALL.  l2_zero:
 * VMCALL as the first instruction.  l2_hlt: CLI, HLT, VMCALL.
 */
asm(".pushsection .text\n"
	"l2_spin:\n\t"
	"sti\n\t"
	"rdtsc\n\t"
	"shl $32, %rdx\n\t"
	"or %rax, %rdx\n\t"
	"mov %rdx, %r8\n\t"
	"l2_spin_loop:\n\t"
	"rdtsc\n\t"
	"shl $32, %rdx\n\t"
	"or %rax, %rdx\n\t"
	"cmp %r10, %rdx\n\t"
	"jae l2_spin_loop_end\n\t"
	"dec %rcx\n\t"
	"jnz l2_spin_loop\n\t"
	"l2_spin_loop_end:\n\t"
	"rdtsc\n\t"
	"shl $32, %rdx\n\t"
	"or %rax, %rdx\n\t"
	"mov %rdx, %r9\n\t"
	"l2_spin_vmcall:\n\t"
	"vmcall\n\t"
	"jmp l2_spin\n\t"
	"l2_zero:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	"l2_hlt:\n\t"
	"cli\n\t"
	"hlt\n\t"
	"l2_hlt_after:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

static u64 rate;

#define NVMX_MSG_TIMER_STATE	0x74696d72

/* What the host found in the nested state L2 asked it to take. */
struct timer_state {
	u64 flags1, deadline1;	/* KVM_GET_NESTED_STATE */
	u64 flags2, deadline2;	/* after KVM_SET_NESTED_STATE of it, again */
};

static struct timer_state host_found;
static u64 l2_state_tsc;

#define DEADLINE_MOVE	BIT_ULL(31)

/* L2 of deadline_state: the host takes its state; RDTSC; VMCALL. */
static noinline void l2_state_code(void)
{
	u32 lo, hi;

	ucall(UCALL_SYNC, 2, NVMX_MSG_TIMER_STATE, cur_case);
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	l2_state_tsc = (u64)hi << 32 | lo;
	vmcall();
}

static u64 l1_rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return (u64)hi << 32 | lo;
}

/* Activate the timer with value @v, with or without the save control. */
static bool timer_setup(u32 v, bool save)
{
	rate = rdmsr(MSR_IA32_VMX_MISC) & 0x1f;
	if (!ctl_update(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_VMX_PREEMPTION_TIMER, 0) ||
	    (save && !ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS,
				 VM_EXIT_SAVE_VMX_PREEMPTION_TIMER, 0))) {
		skip("the VMX-preemption timer or saving it is not offered");
		return false;
	}
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, v);
	return true;
}

/* Strict: a bound of the SDM's TSC count that stock's clock may miss. */
static void tsc_bound(const char *what, bool holds, u64 a, u64 b)
{
	if (holds)
		return;
	if (!nvmx_env.strict) {
		xfail_reason = "stock counts the host clock, not L1's TSC";
		ucall(UCALL_SYNC, 6, NVMX_MSG_NOTE, cur_case, what, a, b,
		      "25.5.1");
		return;
	}
	report(what, a, b, "25.5.1");
}

static void expiry(void)
{
	u64 t0, t1, d, rip;
	const u32 v = 50000;

	if (!timer_setup(v, true))
		return;
	l2_setup(ASM_LABEL(l2_spin));
	t0 = l1_rdtsc();
	d = ((t0 >> rate) + v) << rate;
	/* L2 gives up at 8 times the count, or after L2_SPIN_MAX rounds */
	nvmx_gpr_in[1] = L2_SPIN_MAX;
	nvmx_gpr_in[10] = t0 + ((u64)v << rate) * 8;
	if (!l2_launch())
		return;
	t1 = l1_rdtsc();
	if (!nvmx_expect_exit_sdm(EXIT_REASON_PREEMPTION_TIMER_NR, "25.5.1"))
		return;
	CHECK(EXIT_QUALIFICATION, 0, "27.2.1");
	CHECK(VMX_PREEMPTION_TIMER_VALUE, 0, "27.3.4");
	rip = vmreadz(GUEST_RIP);
	if (rip < ASM_LABEL(l2_spin_loop) || rip >= ASM_LABEL(l2_spin_loop_end))
		report("GUEST_RIP (L2's loop)", ASM_LABEL(l2_spin_loop), rip,
		       "27.3.3");
	tsc_bound("L1's TSC after the exit >= deadline from before entry",
		  t1 >= d, d, t1);
}

static void zero(void)
{
	if (!timer_setup(0, false))
		return;
	l2_setup(ASM_LABEL(l2_zero));
	/* IF = 1: the emulated host's kick must reach a running L2 */
	vmwrite(GUEST_RFLAGS, X86_EFLAGS_FIXED | BIT(9));
	if (!l2_launch())
		return;
	if (!nvmx_exit_at(EXIT_REASON_PREEMPTION_TIMER_NR,
			  ASM_LABEL(l2_zero), "26.7.4"))
		return;
	CHECK(EXIT_QUALIFICATION, 0, "27.2.1");
}

/* One run of l2_spin for L2_SPIN_SHORT rounds; the saved value. */
static bool saved_run(u32 v, bool launch, u64 *saved)
{
	u64 t0, t1, s;

	l2_setup(ASM_LABEL(l2_spin));
	nvmx_gpr_in[1] = L2_SPIN_SHORT;
	nvmx_gpr_in[10] = ~0ull;
	t0 = l1_rdtsc();
	if (!nvmx_l2_enter(launch))
		return false;
	t1 = l1_rdtsc();
	if (!nvmx_vmcall_at(ASM_LABEL(l2_spin_vmcall)))
		return false;
	s = vmreadz(VMX_PREEMPTION_TIMER_VALUE);
	report("saved value below the value entered", 1, s < v, "27.3.4");
	/* D >> X = (T >> X) + v with t0 <= T; the exit comes after r9's read */
	tsc_bound("saved value <= v - ((l2 rdtsc end >> X) - (l2 rdtsc start >> X))",
		  s <= v - ((nvmx_gpr_out[9] >> rate) -
			    (nvmx_gpr_out[8] >> rate)),
		  v - ((nvmx_gpr_out[9] >> rate) - (nvmx_gpr_out[8] >> rate)),
		  s);
	tsc_bound("saved value >= v - ((L1 TSC after >> X) - (L1 TSC before >> X))",
		  s >= v - ((t1 >> rate) - (t0 >> rate)),
		  v - ((t1 >> rate) - (t0 >> rate)), s);
	*saved = s;
	return true;
}

static void saved_value(void)
{
	const u32 v = 1u << 20;
	u64 s1, s2;

	if (!timer_setup(v, true) || !saved_run(v, true, &s1))
		return;
	/* VMRESUME with the value the exit saved (25.5.1: counts on) */
	if (!saved_run(s1, false, &s2))
		return;
	report("second saved value below the first", 1, s2 < s1, "27.3.4");
}

static void halted(void)
{
	/* A count stock's host clock does not end before L2 reaches HLT */
	if (!timer_setup(200000, true))
		return;
	l2_setup(ASM_LABEL(l2_hlt));
	if (!l2_launch())
		return;
	if (!nvmx_exit_at(EXIT_REASON_PREEMPTION_TIMER_NR,
			  ASM_LABEL(l2_hlt_after), "25.2"))
		return;
	CHECK(EXIT_QUALIFICATION, 0, "27.2.1");
	CHECK(GUEST_ACTIVITY_STATE, 1, "27.3.4 (HLT)");
	CHECK(VMX_PREEMPTION_TIMER_VALUE, 0, "27.3.4");
}

static void no_save(void)
{
	const u32 v = 0x12345678;

	if (!timer_setup(v, false))
		return;
	l2_setup(ASM_LABEL(l2_zero));
	if (!l2_launch() || !nvmx_vmcall_at(ASM_LABEL(l2_zero)))
		return;
	CHECK(VMX_PREEMPTION_TIMER_VALUE, v, "27.3.4");
}

static void save_without_timer(void)
{
	if (!ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS,
			VM_EXIT_SAVE_VMX_PREEMPTION_TIMER, 0)) {
		skip("saving the VMX-preemption timer value is not offered");
		return;
	}
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, 100);
	l2_setup(ASM_LABEL(l2_zero));
	report("VMLAUNCH fails", 1, nvmx_l2_run(1), "26.2.1.2");
	CHECK(VM_INSTRUCTION_ERROR, 7,
	      "26.2.1.2");
}

static void deadline_state(void)
{
	const u32 v = 1u << 24;
	u64 t0, t1, lo, hi, d, s;

	if (!timer_setup(v, true))
		return;
	l2_setup((u64)l2_state_code);
	t0 = l1_rdtsc();
	if (!l2_launch())
		return;
	t1 = l1_rdtsc();
	report("state flags: KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE", 1,
	       host_found.flags1, "api.rst");
	report("state flags after KVM_SET_NESTED_STATE of it", 1,
	       host_found.flags2, "api.rst");
	report("deadline after KVM_SET_NESTED_STATE of it",
	       host_found.deadline1, host_found.deadline2, "api.rst");
	lo = (t0 >> rate) + v;
	hi = (t1 >> rate) + v;
	report("deadline >= (L1 TSC before >> X) + V", 1,
	       host_found.deadline1 >= lo, "26.7.4");
	report("deadline <= (L1 TSC after >> X) + V", 1,
	       host_found.deadline1 <= hi, "26.7.4");
	if (!nvmx_expect_exit_sdm(EXIT_REASON_VMCALL_NR, "27.2.1"))
		return;
	/* The host moved the deadline by DEADLINE_MOVE ticks */
	d = host_found.deadline2 + DEADLINE_MOVE;
	s = vmreadz(VMX_PREEMPTION_TIMER_VALUE);
	report("saved value above V (the restored deadline counts)", 1, s > v,
	       "27.3.4");
	tsc_bound("saved value <= D - (L2's last TSC >> X)",
		  s <= d - (l2_state_tsc >> rate), d - (l2_state_tsc >> rate), s);
	tsc_bound("saved value >= D - (L1 TSC after >> X)",
		  s >= d - (t1 >> rate), d - (t1 >> rate), s);
}

static const struct nvmx_case cases[] = {
	{ "expiry", expiry },
	{ "zero", zero },
	{ "saved_value", saved_value },
	{ "hlt", halted },
	{ "no_save", no_save },
	{ "save_without_timer", save_without_timer },
	{ "deadline_state", deadline_state },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	nvmx_l1_run_table(vmx, cases, ARRAY_SIZE(cases));
}

static struct kvm_vcpu *the_vcpu;

/*
 * deadline_state's: the state round trip, then the deadline moved by
 * DEADLINE_MOVE; what it found told to L1 in host_found.
 */
static void host_timer_state(void)
{
	static struct {
		struct kvm_nested_state s;
		u8 data[2 * 4096];
	} st;
	struct timer_state f = { 0 };

	/* L2's OUT done, as KVM wants before its state is taken */
	vcpu_run_complete_io(the_vcpu);
	st.s.size = sizeof(st);
	vcpu_nested_state_get(the_vcpu, &st.s);
	f.flags1 = !!(st.s.hdr.vmx.flags &
		      KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE);
	f.deadline1 = st.s.hdr.vmx.preemption_timer_deadline;
	vcpu_nested_state_set(the_vcpu, &st.s);

	st.s.size = sizeof(st);
	vcpu_nested_state_get(the_vcpu, &st.s);
	f.flags2 = !!(st.s.hdr.vmx.flags &
		      KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE);
	f.deadline2 = st.s.hdr.vmx.preemption_timer_deadline;
	if (f.flags2) {
		st.s.hdr.vmx.preemption_timer_deadline += DEADLINE_MOVE;
		vcpu_nested_state_set(the_vcpu, &st.s);
	}

	host_found = f;
	sync_global_to_guest(the_vcpu->vm, host_found);
}

static void host_message(struct ucall *uc)
{
	if (uc->args[0] == NVMX_MSG_TIMER_STATE)
		host_timer_state();
	else
		nvmx_host_case_message(uc);
}

int main(int argc, char *argv[])
{
	struct kvm_vm *vm;

	vm = nvmx_host_create_table(&the_vcpu, cases, ARRAY_SIZE(cases));
	return nvmx_host_run(vm, the_vcpu, host_message);
}
