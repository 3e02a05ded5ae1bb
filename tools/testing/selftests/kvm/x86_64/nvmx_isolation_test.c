// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_isolation_test: L0 keeps L1 and L2 apart in the branch predictors
 * and in the L1 data cache.  Neither effect is architecturally visible (and
 * the emulated host runs with mitigations=off), so the test shows that the
 * code paths run, and as often as they must, by counting calls with kprobes:
 *
 *   nested_vmx_ibpb_for_l1       the indirect-branch prediction barrier on
 *                                every L2->L1 exit when L1's CPUID has
 *                                SPEC_CTRL (CVE-2022-2196), never otherwise
 *   nested_vmx_hide_l1d_from_l2  the L1D flush request (L1TF) on every
 *                                nested VM entry
 *
 * L2 makes NR_ENTRIES VMCALLs; L1 resumes it after each but the last, so
 * there are NR_ENTRIES VM entries (one VMLAUNCH, then VMRESUMEs) and as
 * many exits to L1.  The test runs L1 twice, with and without SPEC_CTRL in
 * its CPUID.  Stock kvm-intel.ko issues both inline (no probe point): the
 * test skips there; an out-of-tree kvm-intel.ko (ours) without the probe
 * points fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "kselftest.h"
#include "nvmx_module.h"

#define NR_ENTRIES	3

static const char * const probes[] = {
	"nested_vmx_ibpb_for_l1",
	"nested_vmx_hide_l1d_from_l2",
};

enum { PROBE_IBPB, PROBE_L1D, NR_PROBES };

/* L2: NR_ENTRIES VMCALLs (3 bytes each), then UD2 if resumed again. */
asm(".pushsection .text\n"
	".global l2_vmcalls\n"
	"l2_vmcalls:\n\t"
	"vmcall\n\t"
	"vmcall\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection");
/* The label of the asm above, for C (a function type keeps it addressable). */
#define L2_LABEL(n)	void n(void)
L2_LABEL(l2_vmcalls);

static uint8_t l2_stack[4096] __aligned(16);

static void l1_guest_code(struct vmx_pages *vmx)
{
	int i;

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_vmcalls, l2_stack + sizeof(l2_stack));

	GUEST_ASSERT(!vmlaunch());
	for (i = 1; ; i++) {
		GUEST_ASSERT_2(vmreadz(VM_EXIT_REASON) == EXIT_REASON_VMCALL,
			       i, vmreadz(VM_EXIT_REASON));
		if (i == NR_ENTRIES)
			break;
		vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) + 3);
		GUEST_ASSERT(!vmresume());
	}
	GUEST_DONE();
}

/* Hits of kprobe event @name (kprobe_profile: "name hits misses"). */
static unsigned long probe_hits(const char *name)
{
	unsigned long hits, misses;
	char event[128];
	FILE *f;

	f = fopen(NVMX_TRACEFS "/kprobe_profile", "r");
	TEST_ASSERT(f, "cannot read " NVMX_TRACEFS "/kprobe_profile");
	while (fscanf(f, "%127s %lu %lu", event, &hits, &misses) == 3) {
		if (!strcmp(event, name)) {
			fclose(f);
			return hits;
		}
	}
	fclose(f);
	TEST_FAIL("kprobe %s not in kprobe_profile", name);
	return 0;
}

static bool probe_add(const char *name)
{
	char text[160], enable[160];

	snprintf(text, sizeof(text), "p:nvmx/%s kvm_intel:%s\n", name, name);
	snprintf(enable, sizeof(enable), "events/nvmx/%s/enable", name);
	return nvmx_tracefs_write("kprobe_events", text, O_APPEND) &&
	       nvmx_tracefs_write(enable, "1\n", O_APPEND);
}

static void probe_del(const char *name)
{
	char text[160], enable[160];

	snprintf(enable, sizeof(enable), "events/nvmx/%s/enable", name);
	snprintf(text, sizeof(text), "-:nvmx/%s\n", name);
	nvmx_tracefs_write(enable, "0\n", O_APPEND);
	nvmx_tracefs_write("kprobe_events", text, O_APPEND);
}

static void setup_probes(void)
{
	int i;

	if (access(NVMX_TRACEFS "/kprobe_events", W_OK))
		mount("nodev", NVMX_TRACEFS, "tracefs", 0, NULL);
	TEST_REQUIRE(!access(NVMX_TRACEFS "/kprobe_events", W_OK));

	for (i = 0; i < NR_PROBES; i++) {
		if (probe_add(probes[i]))
			continue;
		TEST_ASSERT(!nvmx_host_module_is_nvmx(),
			    "nvmx's kvm-intel.ko has no %s to probe", probes[i]);
		ksft_print_msg("no %s in kvm_intel\n", probes[i]);
		while (i--)
			probe_del(probes[i]);
		ksft_exit_skip("%s %s\n", "stock kvm-intel.ko issues the barrier",
			       "and the L1D request inline: nothing to probe");
	}
}

/* Run L1 once; return the calls each probe saw meanwhile. */
static void run_l1(bool spec_ctrl, unsigned long hits[NR_PROBES])
{
	unsigned long before[NR_PROBES];
	vm_vaddr_t vmx_gva;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int i;

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	if (spec_ctrl)
		vcpu_set_cpuid_feature(vcpu, X86_FEATURE_SPEC_CTRL);
	else
		vcpu_clear_cpuid_feature(vcpu, X86_FEATURE_SPEC_CTRL);
	vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);

	for (i = 0; i < NR_PROBES; i++)
		before[i] = probe_hits(probes[i]);
	nvmx_run_l1_to_done(vcpu);
	for (i = 0; i < NR_PROBES; i++)
		hits[i] = probe_hits(probes[i]) - before[i];
	kvm_vm_free(vm);
}

static void check(const char *name, bool spec_ctrl)
{
	unsigned long want_ibpb = spec_ctrl ? NR_ENTRIES : 0;
	unsigned long hits[NR_PROBES];
	bool ok;

	run_l1(spec_ctrl, hits);
	ok = hits[PROBE_IBPB] == want_ibpb && hits[PROBE_L1D] == NR_ENTRIES;
	if (!ok)
		ksft_print_msg("%s: %s: expected %lu, got %lu; %s: expected %d, got %lu\n",
			       name, probes[PROBE_IBPB], want_ibpb,
			       hits[PROBE_IBPB], probes[PROBE_L1D], NR_ENTRIES,
			       hits[PROBE_L1D]);
	ksft_test_result(ok, "%s\n", name);
}

int main(int argc, char *argv[])
{
	int i;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));

	ksft_print_header();
	setup_probes();
	ksft_set_plan(2);

	check("l1_with_spec_ctrl", true);
	check("l1_without_spec_ctrl", false);

	for (i = 0; i < NR_PROBES; i++)
		probe_del(probes[i]);
	ksft_finished();
	return 0;
}
