// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_trace_test: a nested VM entry shows in kvm.ko's kvm_nested_vmenter
 * tracepoint (arch/x86/kvm/trace.h, shared with nested SVM) with the values
 * trace-cmd users read there: L1's RIP at its VMLAUNCH, the VMCS pointer,
 * L2's RIP, the guest interrupt status as "int_ctl" (the VMX counterpart of
 * SVM's virtual-interrupt control), the VM-entry interruption information
 * as "event_inj", nested EPT off, and the CR3 L2 starts with.
 *
 * L1 gives the two 32-bit arguments values that no other field of the
 * entry has: a guest interrupt status of RVI 51H, SVI 20H, which nothing
 * uses without virtual-interrupt delivery (SDM Vol. 3C 29.1), and
 * interruption information with the valid bit clear, which injects nothing
 * (26.6) and is not checked further (26.2.1.3).  L2 makes one VMCALL.
 *
 * Section numbers are those of the SDM editions that number the VMX chapters
 * 24 (VMCS) to 27 (VM exits); newer editions add one to the chapter.
 */
#define _GNU_SOURCE
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

#define EVENT_ENABLE		"events/kvm/kvm_nested_vmenter/enable"

/* Guest interrupt status: SVI in bits 15:8, RVI in bits 7:0 (24.4.2). */
#define L1_INTR_STATUS		0x2051
/* #PF, hardware exception, deliver error code; valid bit 31 clear (24.8.3). */
#define L1_EVENT_INJ		0x00000b0e

/*
 * L2: one VMCALL.  l1_vmlaunch: VMLAUNCH, returning to its caller from the
 * VM exit (HOST_RSP is the stack pointer at the instruction, so the return
 * address is on top) or from a VMfail.  l1_vmlaunch_insn is the RIP that
 * L1 has when the entry is traced.
 */
asm(".pushsection .text\n"
	".global l2_vmcall\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".global l1_vmlaunch\n"
	"l1_vmlaunch:\n\t"
	"mov $0x6c14, %eax\n\t"			/* HOST_RSP */
	"vmwrite %rsp, %rax\n\t"
	"lea 1f(%rip), %rdx\n\t"
	"mov $0x6c16, %eax\n\t"			/* HOST_RIP */
	"vmwrite %rdx, %rax\n"
	".global l1_vmlaunch_insn\n"
	"l1_vmlaunch_insn:\n\t"
	"vmlaunch\n"
	"1:\tret\n\t"
	".popsection");
/* The labels of the asm above, for C (a function type keeps them addressable). */
#define ASM_LABEL(n)	void n(void)
ASM_LABEL(l2_vmcall);
ASM_LABEL(l1_vmlaunch);
ASM_LABEL(l1_vmlaunch_insn);

static uint8_t l2_stack[4096] __aligned(16);

static void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_vmcall, l2_stack + sizeof(l2_stack));
	vmwrite(GUEST_INTR_STATUS, L1_INTR_STATUS);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, L1_EVENT_INJ);

	l1_vmlaunch();
	GUEST_ASSERT_2(vmreadz(VM_EXIT_REASON) == EXIT_REASON_VMCALL,
		       vmreadz(VM_EXIT_REASON), vmreadz(VM_INSTRUCTION_ERROR));
	GUEST_DONE();
}

/* One kvm_nested_vmenter event as its TP_printk() shows it. */
struct vmenter_event {
	uint64_t rip, vmcs, nested_rip;
	uint32_t int_ctl, event_inj;
	char ept;
	uint64_t guest_cr3;
};

/* The events in the trace buffer; returns how many, parses the last one. */
static int read_events(struct vmenter_event *ev)
{
	const char *tag = "kvm_nested_vmenter: ";
	char line[512];
	int n = 0;
	FILE *f;
	char *p;

	f = fopen(NVMX_TRACEFS "/trace", "r");
	TEST_ASSERT(f, "cannot read " NVMX_TRACEFS "/trace");
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, tag);
		if (!p)
			continue;
		n++;
		TEST_ASSERT(sscanf(p + strlen(tag),
				   "rip: 0x%lx vmcs: 0x%lx nested_rip: 0x%lx int_ctl: 0x%x event_inj: 0x%x nested_ept=%c guest_cr3: 0x%lx",
				   &ev->rip, &ev->vmcs, &ev->nested_rip,
				   &ev->int_ctl, &ev->event_inj, &ev->ept,
				   &ev->guest_cr3) == 7,
			    "unexpected event text: %s", p);
	}
	fclose(f);
	return n;
}

static void check(const char *arg, uint64_t expected, uint64_t got)
{
	if (expected != got)
		ksft_print_msg("%s: expected 0x%lx, got 0x%lx\n", arg,
			       expected, got);
	ksft_test_result(expected == got, "kvm_nested_vmenter %s\n", arg);
}

int main(int argc, char *argv[])
{
	struct vmenter_event ev = {};
	struct vmx_pages *vmx;
	struct kvm_vcpu *vcpu;
	vm_vaddr_t vmx_gva;
	struct kvm_vm *vm;
	uint64_t l1_cr3;
	int n;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	if (access(NVMX_TRACEFS "/" EVENT_ENABLE, W_OK))
		mount("nodev", NVMX_TRACEFS, "tracefs", 0, NULL);
	TEST_REQUIRE(!access(NVMX_TRACEFS "/" EVENT_ENABLE, W_OK));

	ksft_print_header();
	ksft_set_plan(8);

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vmx = vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);
	l1_cr3 = vm->pgd;

	TEST_ASSERT(nvmx_tracefs_write("trace", "", O_TRUNC) &&
		    nvmx_tracefs_write(EVENT_ENABLE, "1\n", 0),
		    "cannot enable kvm_nested_vmenter");
	nvmx_run_l1_to_done(vcpu);
	nvmx_tracefs_write(EVENT_ENABLE, "0\n", 0);

	n = read_events(&ev);
	check("events for one VMLAUNCH", 1, n);
	check("rip (L1's, at VMLAUNCH)", (uint64_t)l1_vmlaunch_insn, ev.rip);
	check("vmcs (the current-VMCS pointer)", vmx->vmcs_gpa, ev.vmcs);
	check("nested_rip (GUEST_RIP)", (uint64_t)l2_vmcall, ev.nested_rip);
	check("int_ctl (GUEST_INTR_STATUS)", L1_INTR_STATUS, ev.int_ctl);
	check("event_inj (VM_ENTRY_INTR_INFO_FIELD)", L1_EVENT_INJ,
	      ev.event_inj);
	check("nested_ept (n: no EPT for L2)", 'n', ev.ept);
	check("guest_cr3 (GUEST_CR3, L1's CR3)", l1_cr3, ev.guest_cr3);

	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
