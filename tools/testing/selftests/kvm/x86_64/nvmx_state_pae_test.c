// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_state_pae_test: KVM_SET_NESTED_STATE of an L2 that uses PAE paging
 * (CR0.PG = 1, CR4.PAE = 1, IA-32e mode guest 0) under EPT in vmcs12.
 * With EPT, VM entry takes L2's PDPTEs from the guest-state fields
 * GUEST_PDPTR0-3 (SDM 26.3.2.4), and checks a present one for reserved
 * bits (bits 2:1, 8:5 and those beyond MAXPHYADDR; SDM 26.3.1.6).  A state
 * restored into L2 is checked the same way: the processor would refuse to
 * enter vmcs02 with such a PDPTE.
 *
 * L1 enters 32-bit L2 with PDPTE 0 mapping L2's code at L1's linear
 * addresses and PDPTE 1 mapping a marker page at 0x40000000.  L2 reads the
 * marker into EBX and stops at the host (an OUT to a port nobody emulates).
 * There the state in L2 shows vmcs12's PDPTE fields as L1 wrote them; the
 * state with PDPTE 1 given each reserved bit is refused (-EINVAL) and
 * leaves the nested state and the vCPU as they were; a reserved bit in a
 * PDPTE that is not present is not checked (taken); the state itself is
 * taken.  L2 then reads the marker through PDPTE 1 again into ECX, stops
 * once more, and exits to L1, which reports the exit and the PDPTE 1 and
 * CR3 the exit saved (SDM 27.3.4).
 *
 * Stock 6.1 leaves the PDPTE fields to the processor's checks on vmcs02 and
 * takes the malformed states: a known deviation (XFAIL), after which the
 * host sets the good state and the vCPU's registers again.
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

#define STAGE_EXIT		1
#define STOP_PORT		0x1234
#define PAE_MARKER_VA		0x40000000
#define MARKER			0xaaaa5555u
#define L2_CS32_SEL		0x78

/* 6.1's struct vmcs12 (the nested-state ABI): byte offsets */
#define OFF_GUEST_PDPTR0	216

/*
 * 32-bit L2 under PAE paging: the marker through PDPTE 1 into EBX, a stop
 * at the host, the marker again into ECX, a stop, a VMCALL.
 */
asm(".pushsection .text\n"
	".code32\n"
	"l2_pae_begin:\n\t"
	"mov " __stringify(PAE_MARKER_VA) ", %ebx\n\t"
	"mov $" __stringify(STOP_PORT) ", %dx\n\t"
	"out %al, %dx\n\t"
	"mov " __stringify(PAE_MARKER_VA) ", %ecx\n\t"
	"out %al, %dx\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_pae_end:\n\t"
	".code64\n\t"
	".popsection\n");

/* The PAE paging structures the host builds (SDM 4.4) */
static struct {
	u64 pdpt_gpa;
	u64 pdpte[4];
} pae;

static void l1_guest_code(struct vmx_pages *vmx_pages)
{
	unsigned long l2_stack[64];
	int i;

	GUEST_ASSERT(prepare_for_vmx_operation(vmx_pages));
	GUEST_ASSERT(load_vmcs(vmx_pages));
	prepare_vmcs(vmx_pages, (void *)NVMX_LABEL(l2_pae_begin), &l2_stack[64]);
	GUEST_ASSERT(vmreadz(SECONDARY_VM_EXEC_CONTROL) &
		     SECONDARY_EXEC_ENABLE_EPT);
	nvmx_l2_pae32(L2_CS32_SEL, pae.pdpt_gpa);
	for (i = 0; i < 4; i++)
		GUEST_ASSERT(!vmwrite(GUEST_PDPTR0 + 2 * i, pae.pdpte[i]));
	GUEST_ASSERT(!vmlaunch());
	GUEST_SYNC_ARGS(STAGE_EXIT, vmreadz(VM_EXIT_REASON),
			vmreadz(GUEST_PDPTR1), vmreadz(GUEST_CR3),
			vmreadz(GUEST_RIP));
	GUEST_DONE();
}

/* Host side */

static struct kvm_vm *vm;

/*
 * PDPTE 0: L2's code at L1's linear addresses (4-KByte pages); PDPTE 1:
 * the marker page at PAE_MARKER_VA.  PDPTEs 2 and 3 not present.
 */
static void host_setup_pae(void)
{
	u64 pd0_gpa, pt0_gpa, pd1_gpa, pt1_gpa, marker_gpa;
	u64 *pdpt = nvmx_alloc_page(vm, &pae.pdpt_gpa);
	u64 *pd0 = nvmx_alloc_page(vm, &pd0_gpa);
	u64 *pt0 = nvmx_alloc_page(vm, &pt0_gpa);
	u64 *pd1 = nvmx_alloc_page(vm, &pd1_gpa);
	u64 *pt1 = nvmx_alloc_page(vm, &pt1_gpa);
	u32 *marker = (u32 *)nvmx_alloc_page(vm, &marker_gpa);

	nvmx_pae_map_code(vm, pd0, pt0, pt0_gpa, NVMX_LABEL(l2_pae_begin),
			  NVMX_LABEL(l2_pae_end));
	*marker = MARKER;
	pd1[0] = pt1_gpa | 3;
	pt1[0] = marker_gpa | 3;
	pdpt[0] = pd0_gpa | 1;
	pdpt[1] = pd1_gpa | 1;
	memcpy(pae.pdpte, pdpt, sizeof(pae.pdpte));
	sync_global_to_guest(vm, pae);
}

static u64 *pdpte_of(struct kvm_nested_state *s, int i)
{
	return (u64 *)((u8 *)s->data.vmx[0].vmcs12 + OFF_GUEST_PDPTR0) + i;
}

/* One state: PDPTE @i of @s with the bits @set added */
struct pdpte_case {
	const char *name;
	int i;
	u64 set;
	bool taken;	/* SDM 26.3.1.6 checks present PDPTEs only */
};

/*
 * Each case set on the vCPU in L2: refused with -EINVAL (nvmx; stock takes
 * it: a known deviation) or taken, as the case says; then the nested
 * state and the vCPU as they were, @s set again where a state was taken.
 * Stock runs L1's VM exit when it takes a state, and reads its exit
 * information again at GET: with stock the vCPU and the nested state are
 * then put back.
 */
static void check_pdpte_case(struct kvm_vcpu *vcpu, struct kvm_nested_state *s,
			     const struct pdpte_case *c,
			     struct nvmx_vcpu_snapshot *snap)
{
	struct kvm_nested_state *m = nvmx_nested_state_alloc(), *now;
	bool stock = !nvmx_host_module_is_nvmx();
	int r;

	memcpy(m, s, s->size);
	*pdpte_of(m, c->i) |= c->set;
	r = __vcpu_nested_state_set(vcpu, m);
	if (c->taken) {
		HOST_CHECK(!r, "%s: rc %d errno %d, expected taken", c->name, r,
			   errno);
	} else if (!r && stock) {
		ksft_print_msg("%s: taken (known stock deviation)\n", c->name);
		nvmx_deviations++;
	} else {
		HOST_CHECK(r == -1 && errno == EINVAL, "%s: rc %d errno %d", c->name,
			   r, errno);
	}
	if (!r)
		vcpu_nested_state_set(vcpu, s);
	now = nvmx_nested_state_get(vcpu);
	if (now->size != s->size || memcmp(now, s, s->size)) {
		/* stock's GET in L2 reads its exit information again */
		HOST_CHECK(stock, "%s: the nested state changed", c->name);
		ksft_print_msg("%s: %s (known stock deviation)\n", c->name,
			       "the nested state reads back otherwise");
		nvmx_deviations++;
		vcpu_nested_state_set(vcpu, s);
	}
	if (nvmx_vcpu_snapshot_differs(vcpu, snap, c->name)) {
		HOST_CHECK(stock && !r, "%s: the vCPU changed", c->name);
		nvmx_vcpu_snapshot_put(vcpu, snap);
	}
	free(now);
	free(m);
}

/* At L2's first stop: the state, the malformed PDPTEs, the state again */
static void stop_first(struct kvm_vcpu *vcpu)
{
	struct kvm_nested_state *s = nvmx_nested_state_get(vcpu);
	struct nvmx_vcpu_snapshot snap;
	struct kvm_regs regs;
	unsigned int i;
	const struct pdpte_case cases[] = {
		{ "PDPTE 1 reserved bit 1", 1, BIT_ULL(1) },
		{ "PDPTE 1 reserved bit 2", 1, BIT_ULL(2) },
		{ "PDPTE 1 reserved bit 5", 1, BIT_ULL(5) },
		{ "PDPTE 1 reserved bit 8", 1, BIT_ULL(8) },
		{ "PDPTE 1 beyond MAXPHYADDR", 1, BIT_ULL(vm->pa_bits) },
		{ "PDPTE 2 not present, reserved bits 2:1", 2, 6, true },
	};

	HOST_CHECK(s->flags == KVM_STATE_NESTED_GUEST_MODE, "flags 0x%x", s->flags);
	for (i = 0; i < 4; i++)
		HOST_CHECK(*pdpte_of(s, i) == pae.pdpte[i],
			   "vmcs12 GUEST_PDPTR%u 0x%lx, L1 wrote 0x%lx", i,
			   *pdpte_of(s, i), pae.pdpte[i]);
	vcpu_regs_get(vcpu, &regs);
	HOST_CHECK((u32)regs.rbx == MARKER, "EBX 0x%x, the marker is 0x%x",
		   (u32)regs.rbx, MARKER);

	nvmx_vcpu_snapshot_take(vcpu, &snap);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (vm->pa_bits >= 52 && cases[i].set == BIT_ULL(vm->pa_bits))
			continue;
		check_pdpte_case(vcpu, s, &cases[i], &snap);
	}
	free(s);
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct vmx_pages *vmx;
	vm_vaddr_t vmx_gva;
	struct kvm_regs regs;
	struct ucall uc;
	int stops = 0;
	bool exited = false;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	TEST_REQUIRE(kvm_vm_has_ept(vm));
	vmx = vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);
	host_setup_pae();
	/* Last: L2 physical = L1 physical for every page in use */
	prepare_eptp(vmx, vm, 0);
	nested_map_memslot(vmx, vm, 0);

	ksft_print_header();
	ksft_set_plan(1);
	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "exit reason %u (%s)", vcpu->run->exit_reason,
			    exit_reason_str(vcpu->run->exit_reason));
		if (vcpu->run->io.port == STOP_PORT) {
			vcpu_run_complete_io(vcpu);
			if (!stops++) {
				stop_first(vcpu);
				continue;
			}
			vcpu_regs_get(vcpu, &regs);
			HOST_CHECK((u32)regs.rcx == MARKER,
				   "ECX 0x%x after the restore, the marker is 0x%x",
				   (u32)regs.rcx, MARKER);
			continue;
		}
		if (!nvmx_sync_or_done(get_ucall(vcpu, &uc), &uc))
			break;
		HOST_CHECK(uc.args[2] == EXIT_REASON_VMCALL, "exit reason 0x%lx",
			   uc.args[2]);
		HOST_CHECK(uc.args[3] == pae.pdpte[1],
			   "GUEST_PDPTR1 0x%lx at the exit, 0x%lx", uc.args[3],
			   pae.pdpte[1]);
		HOST_CHECK(uc.args[4] == pae.pdpt_gpa,
			   "GUEST_CR3 0x%lx at the exit, 0x%lx", uc.args[4],
			   pae.pdpt_gpa);
		exited = true;
	}
	HOST_CHECK(stops == 2 && exited, "%d stops, exit to L1 %s", stops,
		   exited ? "seen" : "not seen");
	if (nvmx_deviations)
		ksft_print_msg("%d malformed PDPTEs taken: known stock deviations\n",
			       nvmx_deviations);
	ksft_test_result(!nvmx_failures,
			 "PAE L2 under EPT: reserved bits in a present PDPTE refused at SET\n");
	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
