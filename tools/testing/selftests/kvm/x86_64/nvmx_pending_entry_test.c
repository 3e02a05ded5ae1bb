// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_pending_entry_test: a nested entry KVM itself left pending, caught
 * by KVM_GET_NESTED_STATE (KVM_STATE_NESTED_RUN_PENDING) and set again,
 * into the same VM and into a new one.
 *
 * How userspace gets control between L1's VMLAUNCH, which KVM emulates,
 * and the first hardware entry of vmcs02: the VM has no in-kernel irqchip
 * and the host asks for interrupt-window exits (kvm_run's
 * request_interrupt_window).  After an exit it handled, KVM leaves its run
 * loop with KVM_EXIT_IRQ_WINDOW_OPEN when the vCPU could take an interrupt
 * from userspace.  L1 runs with RFLAGS.IF clear, so it never can, except
 * while a nested entry is pending: vmx.c's interrupt_allowed hook then
 * answers -EBUSY, which the run loop takes as "allowed".  So the first
 * such exit comes right after VMLAUNCH, with the entry pending.
 *
 * L1's VMLAUNCH loads IA32_PAT, IA32_EFER and DR7 from vmcs12 (SDM
 * 26.3.2.1) and injects a #UD (SDM 26.6), so L2 starts in its #UD handler
 * with the return address at GUEST_RIP; it reports the handler's count and
 * return address and what it found loaded.  The host takes the state at
 * the window exit (guest mode and the pending flag, vmcs12's event still
 * valid, the vCPU's RIP at GUEST_RIP), sets it again into the same vCPU
 * (it reads back the same), moves the whole vCPU into a new VM, and checks
 * that L2 started there exactly as in a run without any of it: one #UD at
 * GUEST_RIP, vmcs12's PAT, EFER and DR7.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvmx_state.h"
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define STAGE_L2_START		1
#define STAGE_L2_DR7		2
#define STAGE_DONE		3

#define L2_PAT			0x0007050600070506ull
#define L2_DR7			0x500ull	/* bit 10 fixed, LE */
#define EV_VALID		BIT(31)
#define EV_HW_EXC		(3u << 8)

/* 6.1's struct vmcs12 (the nested-state ABI): byte offsets */
#define OFF_GUEST_RIP		544
#define OFF_ENTRY_INTR_INFO	788

#define NR_PAGES		2048

static u64 l2_ud_count;
static u64 l2_ud_rip;

static void l2_ud_handler(struct ex_regs *regs)
{
	l2_ud_count++;
	l2_ud_rip = regs->rip;
}

static u64 get_dr7(void)
{
	u64 v;

	asm volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static void l2_guest_code(void)
{
	GUEST_SYNC_ARGS(STAGE_L2_START, l2_ud_count, l2_ud_rip,
			rdmsr(MSR_IA32_CR_PAT), rdmsr(MSR_EFER));
	GUEST_SYNC_ARGS(STAGE_L2_DR7, get_dr7(), 0, 0, 0);
	vmcall();
	GUEST_ASSERT(0);
}

static void l1_guest_code(struct vmx_pages *vmx_pages)
{
	unsigned long l2_stack[256];

	GUEST_ASSERT(prepare_for_vmx_operation(vmx_pages));
	GUEST_ASSERT(load_vmcs(vmx_pages));
	prepare_vmcs(vmx_pages, l2_guest_code, &l2_stack[256]);
	GUEST_ASSERT(!vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			      vmreadz(CPU_BASED_VM_EXEC_CONTROL) |
			      CPU_BASED_USE_MSR_BITMAPS));
	GUEST_ASSERT(!vmwrite(VM_ENTRY_CONTROLS, vmreadz(VM_ENTRY_CONTROLS) |
			      VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER |
			      VM_ENTRY_LOAD_DEBUG_CONTROLS));
	GUEST_ASSERT(!vmwrite(GUEST_IA32_PAT, L2_PAT));
	GUEST_ASSERT(!vmwrite(GUEST_IA32_EFER, rdmsr(MSR_EFER) ^ EFER_SCE));
	GUEST_ASSERT(!vmwrite(GUEST_DR7, L2_DR7));
	GUEST_ASSERT(!vmwrite(VM_ENTRY_INTR_INFO_FIELD,
			      EV_VALID | EV_HW_EXC | UD_VECTOR));
	GUEST_ASSERT(!vmlaunch());
	GUEST_ASSERT_2(vmreadz(VM_EXIT_REASON) == EXIT_REASON_VMCALL,
		       vmreadz(VM_EXIT_REASON), vmreadz(EXIT_QUALIFICATION));
	GUEST_SYNC(STAGE_DONE);
}

/* Host side */

/* What L2 found when it started, and L1's EFER it was made from */
struct l2_start {
	u64 ud_count, ud_rip, pat, efer, dr7;
};

/*
 * A VM without an in-kernel irqchip (the interrupt-window exit needs the
 * PIC in userspace): __vm_create() without vm_create_irqchip().
 */
static struct kvm_vm *vm_create_no_irqchip(struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = ____vm_create(VM_MODE_DEFAULT, NR_PAGES);
	vm_vaddr_t pages_gva;

	kvm_vm_elf_load(vm, program_invocation_name);
	*vcpu = vm_vcpu_add(vm, 0, l1_guest_code);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(*vcpu);
	vm_install_exception_handler(vm, UD_VECTOR, l2_ud_handler);
	vcpu_alloc_vmx(vm, &pages_gva);
	vcpu_args_set(*vcpu, 1, pages_gva);
	return vm;
}

static u64 vmcs12_u64(struct kvm_nested_state *s, int off)
{
	u64 v;

	memcpy(&v, (u8 *)s->data.vmx[0].vmcs12 + off, sizeof(v));
	return v;
}

static u32 vmcs12_u32(struct kvm_nested_state *s, int off)
{
	u32 v;

	memcpy(&v, (u8 *)s->data.vmx[0].vmcs12 + off, sizeof(v));
	return v;
}

/*
 * At the window exit after VMLAUNCH: the entry is pending, its event still
 * to be injected, L2's RIP at GUEST_RIP; the state set again into the
 * same vCPU reads back the same (stock: a known deviation if not).
 */
static void pending_same_vm(struct kvm_vcpu *vcpu, u64 guest_rip)
{
	struct kvm_nested_state *s = nvmx_nested_state_get(vcpu), *again;
	struct kvm_regs regs;
	u32 want = KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING;
	bool same;

	HOST_CHECK(s->flags == want, "flags 0x%x, expected 0x%x", s->flags, want);
	HOST_CHECK(vmcs12_u64(s, OFF_GUEST_RIP) == guest_rip,
		   "vmcs12 GUEST_RIP 0x%lx, expected 0x%lx",
		   vmcs12_u64(s, OFF_GUEST_RIP), guest_rip);
	HOST_CHECK(vmcs12_u32(s, OFF_ENTRY_INTR_INFO) ==
		   (EV_VALID | EV_HW_EXC | UD_VECTOR),
		   "vmcs12 entry event 0x%x", vmcs12_u32(s, OFF_ENTRY_INTR_INFO));
	vcpu_regs_get(vcpu, &regs);
	HOST_CHECK(regs.rip == guest_rip, "RIP 0x%llx, expected 0x%lx", regs.rip,
		   guest_rip);

	vcpu_nested_state_set(vcpu, s);
	again = nvmx_nested_state_get(vcpu);
	same = again->size == s->size && !memcmp(again, s, s->size);
	if (!same && nvmx_host_module_is_nvmx()) {
		HOST_CHECK(false, "the pending state set again reads back otherwise");
	} else if (!same) {
		ksft_print_msg("%s (known stock deviation)\n",
			       "the pending state set again reads back otherwise");
		nvmx_deviations++;
	}
	HOST_CHECK(again->flags == want, "flags 0x%x after SET", again->flags);
	free(again);
	free(s);
}

/*
 * The vCPU into a new VM, memory kept, the nested state last (as
 * vcpu_load_state()): system registers, the MSRs VM entry and exit load,
 * debug registers, events, registers, IA32_FEATURE_CONTROL.  Not
 * vcpu_save_state(): without a local APIC in the kernel some MSRs of
 * KVM's list do not read, and XCR0 does not set.  L1 and L2 keep nothing
 * in the extended state across the move.
 */
static struct kvm_vcpu *migrate(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvm_nested_state *s = nvmx_nested_state_get(vcpu);
	u64 feat_ctl = vcpu_get_msr(vcpu, MSR_IA32_FEAT_CTL);
	struct nvmx_vcpu_snapshot snap;

	HOST_CHECK(s->flags & KVM_STATE_NESTED_RUN_PENDING,
		   "the state to move has no pending entry: flags 0x%x", s->flags);
	nvmx_vcpu_snapshot_take(vcpu, &snap);
	kvm_vm_release(vm);

	vcpu = vm_recreate_with_one_vcpu(vm);
	nvmx_vcpu_snapshot_put(vcpu, &snap);
	vcpu_set_msr(vcpu, MSR_IA32_FEAT_CTL, feat_ctl);
	vcpu_nested_state_set(vcpu, s);
	free(s);
	return vcpu;
}

/*
 * Run L1 to its end.  With @catch, the window exit after VMLAUNCH is
 * caught, the pending state checked and set again, and the vCPU moved.
 */
static struct l2_start run(bool catch)
{
	u64 guest_rip = (u64)l2_guest_code;
	struct l2_start st = {};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int windows = 0;
	struct ucall uc;

	vm = vm_create_no_irqchip(&vcpu);
	vcpu->run->request_interrupt_window = catch;
	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN) {
			HOST_CHECK(!windows++, "a second interrupt-window exit");
			pending_same_vm(vcpu, guest_rip);
			vcpu = migrate(vm, vcpu);
			continue;
		}
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "exit reason %u (%s)", vcpu->run->exit_reason,
			    exit_reason_str(vcpu->run->exit_reason));
		if (nvmx_sync(get_ucall(vcpu, &uc), &uc) == STAGE_L2_START) {
			st.ud_count = uc.args[2];
			st.ud_rip = uc.args[3];
			st.pat = uc.args[4];
			st.efer = uc.args[5];
		} else if (uc.args[1] == STAGE_L2_DR7) {
			st.dr7 = uc.args[2];
		} else {
			break;
		}
	}
	HOST_CHECK(windows == catch, "%d interrupt-window exits", windows);
	kvm_vm_free(vm);
	return st;
}

static void check_start(const char *what, struct l2_start *st, u64 l1_efer)
{
	HOST_CHECK(st->ud_count == 1, "%s: %lu #UD delivered, expected 1", what,
		   st->ud_count);
	HOST_CHECK(st->ud_rip == (u64)l2_guest_code,
		   "%s: #UD returns to 0x%lx, GUEST_RIP is 0x%lx", what, st->ud_rip,
		   (u64)l2_guest_code);
	HOST_CHECK(st->pat == L2_PAT, "%s: PAT 0x%lx, vmcs12's 0x%llx", what,
		   st->pat, L2_PAT);
	HOST_CHECK(st->efer == (l1_efer ^ EFER_SCE),
		   "%s: EFER 0x%lx, vmcs12's 0x%lx", what, st->efer,
		   l1_efer ^ EFER_SCE);
	HOST_CHECK(st->dr7 == L2_DR7, "%s: DR7 0x%lx, vmcs12's 0x%llx", what,
		   st->dr7, L2_DR7);
}

int main(int argc, char *argv[])
{
	struct l2_start plain, caught;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u64 l1_efer;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));

	/* L1's EFER as the selftest library sets it up */
	vm = vm_create_no_irqchip(&vcpu);
	l1_efer = vcpu_get_msr(vcpu, MSR_EFER);
	kvm_vm_free(vm);

	ksft_print_header();
	ksft_set_plan(1);
	plain = run(false);
	check_start("without save/restore", &plain, l1_efer);
	caught = run(true);
	check_start("after the pending state moved", &caught, l1_efer);
	if (nvmx_deviations)
		ksft_print_msg("%d known stock deviations\n", nvmx_deviations);
	ksft_test_result(!nvmx_failures,
			 "a pending entry caught by GET starts L2 after SET as VMLAUNCH would\n");
	ksft_finished();
	return 0;
}
