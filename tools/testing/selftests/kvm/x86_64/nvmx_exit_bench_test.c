// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_exit_bench_test: the cost of one reflected L2->L1 exit and re-entry.
 *
 * L2 executes CPUID NR_ROUNDTRIPS times; CPUID exits unconditionally in VMX
 * non-root operation (SDM 25.1.2), so every one is reflected to L1, which
 * steps L2 over it by the VM-exit instruction length (27.2.5) and resumes it.
 * L1 reads its TSC from the first CPUID exit to the closing VMCALL exit:
 * NR_ROUNDTRIPS round trips (handle, VMRESUME, L2 runs up to its next exit).
 * The emulated host's TSC follows its instruction count, so the figure
 * repeats from run to run and ours/stock compares the two modules' cost.
 *
 * The loop runs three times: with L1's default controls, where "enable
 * VPID" is 0 and every VM entry and exit invalidates the guest's linear
 * mappings (SDM 28.3.3.1); with "use MSR bitmaps" (L1's bitmap all clear),
 * as a real L1 runs its guests, which has L0 build vmcs02's MSR bitmap at
 * every entry; and, when L1 is offered VPID, with VPID 1, where neither
 * entry nor exit invalidates anything.  The host counts the guest TLB
 * flushes KVM makes over each loop (vCPU statistic "tlb_flush").
 *
 * Output, per loop: "# nvmx-bench cpuid_roundtrip<suffix> <cycles per round
 * trip>" and "# nvmx-bench tlb_flush_per_1k_roundtrips<suffix> <flushes>",
 * with suffix "", "_msr_bitmaps" and "_vpid".  Each loop passes only if all
 * NR_ROUNDTRIPS exits arrived with reason 10 (CPUID, Appendix C) at the
 * CPUID and the loop ended with the VMCALL; the VPID loop is reported as
 * skipped when L1 is not offered VPID.
 */
#define _GNU_SOURCE
#include <stdint.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "kselftest.h"

#include "nvmx_module.h"

#define NR_ROUNDTRIPS	2000

/* The loop counter lives in R8: CPUID clobbers EAX, EBX, ECX and EDX. */
asm(".pushsection .text\n"
	".global l2_bench\n"
	"l2_bench:\n\t"
	"mov $" __stringify(NR_ROUNDTRIPS) ", %r8d\n"
	"1:\txor %eax, %eax\n\t"
	"xor %ecx, %ecx\n"
	".global l2_bench_cpuid\n"
	"l2_bench_cpuid:\n\t"
	"cpuid\n\t"
	"dec %r8d\n\t"
	"jnz 1b\n"
	".global l2_bench_end\n"
	"l2_bench_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection");
/* Labels of the asm above, for C (a function type keeps them addressable). */
#define L2_LABEL(n)	void n(void)
L2_LABEL(l2_bench);
L2_LABEL(l2_bench_cpuid);
L2_LABEL(l2_bench_end);

static uint8_t l2_stack[4096] __aligned(16);

/* SDM A.3.3, A.10: L1 may set "enable VPID", and INVVPID exists. */
static bool l1_has_vpid(void)
{
	uint64_t ctls2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);

	return (ctls2 >> 32) & SECONDARY_EXEC_ENABLE_VPID;
}

/* The three loops, in the order L1 runs them. */
enum bench_loop { LOOP_PLAIN, LOOP_MSR_BITMAPS, LOOP_VPID, NR_LOOPS };

static const char *const loop_suffix[NR_LOOPS] = {
	"", "_msr_bitmaps", "_vpid"
};

/* L1's controls for @loop on top of prepare_vmcs()'s. */
static void l1_loop_controls(enum bench_loop loop)
{
	if (loop == LOOP_MSR_BITMAPS)
		vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			vmreadz(CPU_BASED_VM_EXEC_CONTROL) |
			CPU_BASED_USE_MSR_BITMAPS);
	if (loop != LOOP_VPID)
		return;
	vmwrite(CPU_BASED_VM_EXEC_CONTROL,
		vmreadz(CPU_BASED_VM_EXEC_CONTROL) |
		CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	vmwrite(SECONDARY_VM_EXEC_CONTROL,
		vmreadz(SECONDARY_VM_EXEC_CONTROL) | SECONDARY_EXEC_ENABLE_VPID);
	vmwrite(VIRTUAL_PROCESSOR_ID, 1);
}

/* One loop of NR_ROUNDTRIPS CPUID round trips; reports cycles and exits. */
static void l1_bench_loop(struct vmx_pages *vmx, enum bench_loop loop)
{
	uint64_t t0, t1, exits = 0;
	uint32_t reason;

	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, (void *)l2_bench, l2_stack + sizeof(l2_stack));
	l1_loop_controls(loop);

	/* The host samples its counters here and at the next sync. */
	GUEST_SYNC_ARGS(1, loop, 0, 0, 0);
	GUEST_ASSERT(!vmlaunch());
	t0 = rdtsc();
	for (;;) {
		reason = vmreadz(VM_EXIT_REASON);
		if (reason != EXIT_REASON_CPUID)
			break;
		GUEST_ASSERT_2(vmreadz(GUEST_RIP) == (uint64_t)l2_bench_cpuid,
			       exits, vmreadz(GUEST_RIP));
		/* Bounded: L2 makes at most NR_ROUNDTRIPS CPUID exits. */
		exits++;
		GUEST_ASSERT_1(exits <= NR_ROUNDTRIPS, exits);
		vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) + vmreadz(VM_EXIT_INSTRUCTION_LEN));
		GUEST_ASSERT(!vmresume());
	}
	t1 = rdtsc();

	GUEST_ASSERT_2(reason == EXIT_REASON_VMCALL, reason, exits);
	GUEST_ASSERT_2(vmreadz(GUEST_RIP) == (uint64_t)l2_bench_end,
		       vmreadz(GUEST_RIP), exits);
	GUEST_ASSERT_1(exits == NR_ROUNDTRIPS, exits);
	GUEST_SYNC_ARGS(2, loop, t1 - t0, exits, 0);
}

static void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	l1_bench_loop(vmx, LOOP_PLAIN);
	l1_bench_loop(vmx, LOOP_MSR_BITMAPS);
	if (l1_has_vpid())
		l1_bench_loop(vmx, LOOP_VPID);
	GUEST_DONE();
}

/* What the host measured of one loop. */
struct loop_result {
	bool ran;
	uint64_t cycles, exits, flushes;
};

static void report_loop(enum bench_loop loop, const struct loop_result *r)
{
	const char *suffix = loop_suffix[loop];

	if (!r->ran) {
		ksft_test_result_skip("cpuid_roundtrip%s: L1 is not offered VPID\n",
				      suffix);
		return;
	}
	TEST_ASSERT(r->exits == NR_ROUNDTRIPS,
		    "cpuid_roundtrip%s: %lu CPUID exits, expected %d",
		    suffix, r->exits, NR_ROUNDTRIPS);
	ksft_print_msg("nvmx-bench cpuid_roundtrip%s %lu\n", suffix,
		       r->cycles / NR_ROUNDTRIPS);
	ksft_print_msg("nvmx-bench tlb_flush_per_1k_roundtrips%s %lu\n", suffix,
		       r->flushes * 1000 / NR_ROUNDTRIPS);
	ksft_test_result_pass("cpuid_roundtrip%s: %d CPUID exits, %lu cycles, %lu TLB flushes\n",
			      suffix, NR_ROUNDTRIPS, r->cycles, r->flushes);
}

int main(int argc, char *argv[])
{
	struct loop_result loops[NR_LOOPS] = {};
	uint64_t flushes0 = 0;
	vm_vaddr_t vmx_gva;
	struct kvm_vcpu *vcpu;
	struct loop_result *r;
	struct kvm_vm *vm;
	int i;
	struct ucall uc;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);

	ksft_print_header();
	ksft_set_plan(NR_LOOPS);

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "unexpected exit %u (%s)", vcpu->run->exit_reason,
			    exit_reason_str(vcpu->run->exit_reason));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			TEST_ASSERT(uc.args[2] < NR_LOOPS, "loop %lu", uc.args[2]);
			r = &loops[uc.args[2]];
			if (uc.args[1] == 1) {
				flushes0 = nvmx_vcpu_stat(vcpu, "tlb_flush");
				break;
			}
			r->ran = true;
			r->cycles = uc.args[3];
			r->exits = uc.args[4];
			r->flushes = nvmx_vcpu_stat(vcpu, "tlb_flush") - flushes0;
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_2(uc, "values: %#lx, %#lx");
			break;
		case UCALL_DONE:
			goto done;
		default:
			TEST_FAIL("unknown ucall %lu", uc.cmd);
		}
	}
done:
	kvm_vm_free(vm);
	TEST_ASSERT(loops[LOOP_PLAIN].ran && loops[LOOP_MSR_BITMAPS].ran,
		    "a loop L1 always runs never ended");
	for (i = 0; i < NR_LOOPS; i++)
		report_loop(i, &loops[i]);
	ksft_finished();
	return 0;
}
