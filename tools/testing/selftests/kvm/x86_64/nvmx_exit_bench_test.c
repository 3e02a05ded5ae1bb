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
 * The loop runs twice: with L1's default controls, and with "use MSR
 * bitmaps" (L1's bitmap all clear), as a real L1 runs its guests, which
 * has L0 build vmcs02's MSR bitmap at every entry.
 *
 * Output: "# nvmx-bench cpuid_roundtrip <cycles per round trip>" and
 * "# nvmx-bench cpuid_roundtrip_msr_bitmaps <cycles>".  Each passes only if
 * all NR_ROUNDTRIPS exits arrived with reason 10 (CPUID, Appendix C) at the
 * CPUID and the loop ended with the VMCALL.
 */
#define _GNU_SOURCE
#include <stdint.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "kselftest.h"

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

/* Run the loop, with or without MSR bitmaps, and send its cycles. */
static void l1_roundtrips(struct vmx_pages *vmx, bool msr_bitmaps)
{
	uint64_t t0, t1, exits = 0;
	uint32_t reason;

	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, (void *)l2_bench, l2_stack + sizeof(l2_stack));
	if (msr_bitmaps)
		vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			vmreadz(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_USE_MSR_BITMAPS);

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
	GUEST_SYNC_ARGS(msr_bitmaps, t1 - t0, exits, 0, 0);
}

static void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	l1_roundtrips(vmx, false);
	l1_roundtrips(vmx, true);
	GUEST_DONE();
}

static const char *const bench_name[2] = {
	"cpuid_roundtrip", "cpuid_roundtrip_msr_bitmaps"
};

/* Report the loop L1 ran @msr_bitmaps with, in @cycles for @exits exits. */
static void host_result(uint64_t msr_bitmaps, uint64_t cycles, uint64_t exits)
{
	const char *name = bench_name[!!msr_bitmaps];

	TEST_ASSERT(exits == NR_ROUNDTRIPS, "%s: %lu CPUID exits, expected %d",
		    name, exits, NR_ROUNDTRIPS);
	ksft_print_msg("nvmx-bench %s %lu\n", name, cycles / NR_ROUNDTRIPS);
	ksft_test_result_pass("%s: %d CPUID exits (reason 10), %lu TSC cycles\n",
			      name, NR_ROUNDTRIPS, cycles);
}

int main(int argc, char *argv[])
{
	vm_vaddr_t vmx_gva;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);

	ksft_print_header();
	ksft_set_plan(2);

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "unexpected exit %u (%s)", vcpu->run->exit_reason,
			    exit_reason_str(vcpu->run->exit_reason));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			host_result(uc.args[1], uc.args[2], uc.args[3]);
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
	ksft_finished();
	return 0;
}
