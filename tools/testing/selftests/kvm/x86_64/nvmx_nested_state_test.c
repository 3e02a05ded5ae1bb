// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_nested_state_test: KVM_GET_NESTED_STATE and KVM_SET_NESTED_STATE
 * (6.1's uapi, format KVM_STATE_NESTED_FORMAT_VMX; api.rst).
 *
 * L1 enters VMX operation, loads a VMCS and runs L2 through NR_ROUNDS
 * VMCALL exits that it handles and resumes.  L2 keeps a checksum of its
 * rounds in its own memory and, when L1 is offered VMCS shadowing (SDM
 * 24.10), in GUEST_RIP of the shadow VMCS vmcs12's link pointer names, by
 * VMREAD and VMWRITE that do not exit.  At the end L1 reads the shadow
 * VMCS's field and reports both checksums and its exit count.
 *
 * The host takes the state at each step:
 *   root         after VMXON: no current VMCS, header only;
 *   vmcs         after VMPTRLD: the header and vmcs12;
 *   l2_malformed in L2: the state set again on the same vCPU reads back
 *                the same and leaves the vCPU as it was (registers, system
 *                and debug registers, events, the MSRs entry and exit
 *                load); every malformed state below is refused (-EINVAL)
 *                and leaves the state as it was (GET before and after
 *                equal byte for byte), and the vCPU too;
 *   l1_malformed in root operation after an exit: the same malformed
 *                states, made from vmcs12 and the guest-mode flag, each
 *                refused with the vCPU unchanged;
 *                the shutdown activity state where L1 is not offered it
 *                (IA32_VMX_MISC bit 7) is malformed in both: where the
 *                vCPU offers it, the VMM first takes the vCPU out of VMX
 *                operation, clears the bit with KVM_SET_MSRS (refused in
 *                VMX operation) and puts it back after the refusal;
 *   l2_migrate   in L2: the whole vCPU into a new VM with the memory kept,
 *                as state_test does;
 *   l2_pending   in L2: the state set again as an entry still pending
 *                (KVM_STATE_NESTED_RUN_PENDING) reads back so, with the
 *                same vmcs12, and L2 resumes from it.
 * and checks that L2's checksums and L1's exit count equal those of a run
 * without any of it.  (Mutation run, nvmx's rule that the shutdown state
 * be offered removed: "guest activity shutdown, not offered" was taken,
 * rc 0, in L2 and in root operation.)  A buffer too small for the state gets -E2BIG and the
 * size it needs.  SMM entered from L1 or from L2 is smm_test's.
 *
 * Known deviations of stock 6.1, reported as such with stock and failures
 * with nvmx: it takes some malformed states (SVM's GIF flag on VMX, MTF
 * pending where L1 has no MTF, vmcs12 with the shadow-VMCS indicator for
 * L2 (SDM 26.1), RFLAGS bit 15 set (SDM 26.3.1.4)); a state it refuses
 * can still change the vCPU; a state set on a vCPU in L2 first runs L1's
 * VM exit, loading vmcs12's host state into the vCPU; and a state set in
 * L2 reads back with other exit information (guest linear address).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "nvmx_state.h"
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define NR_ROUNDS		16
#define STAGE_ROOT		1
#define STAGE_VMCS		2
#define STAGE_L2_MALFORMED	3	/* L2's round numbers from here on */
#define STAGE_L1_MALFORMED	5	/* L1 after L2's 5th exit */
#define STAGE_L2_MIGRATE	7
#define STAGE_L2_PENDING	11
#define STAGE_DONE		100

#define HDR_SIZE		((int)sizeof(struct kvm_nested_state))
#define VMCS_SIZE		KVM_STATE_NESTED_VMX_VMCS_SIZE

/*
 * 6.1's struct vmcs12 (the nested-state ABI; scripts/nvmx/vmcs12-abi.sh
 * checks nvmx's against 6.1's debug info): byte offsets of the fields the
 * malformed states change.
 */
#define OFF_REVISION		0
#define OFF_LINK_POINTER	176
#define OFF_GUEST_CR0		424
#define OFF_GUEST_RFLAGS	552
#define OFF_HOST_CR4		600
#define OFF_HOST_RIP		672
#define OFF_PIN_CONTROLS	744
#define OFF_ENTRY_INTR_INFO	788
#define OFF_ACTIVITY_STATE	916
#define OFF_SECONDARY_CONTROLS	804
#define OFF_GUEST_TR_AR		908
#define OFF_GUEST_CS_BASE	456
#define OFF_GUEST_TR_BASE	504
#define OFF_GUEST_RIP		544
#define OFF_GUEST_CS_LIMIT	844
#define OFF_GUEST_GDTR_LIMIT	872
#define OFF_GUEST_CS_AR		884
#define OFF_GUEST_SS_AR		888
#define OFF_GUEST_DS_AR		892
#define OFF_GUEST_LDTR_AR	904
#define OFF_GUEST_TR_SELECTOR	978
#define OFF_GUEST_PENDING_DBG	560
#define OFF_GUEST_INTR_STATE	912
#define AR_UNUSABLE		BIT(16)
#define AR_DB			BIT(14)
#define AR_DPL3			(3u << 5)
#define EXEC2_UNRESTRICTED	BIT(7)

#define SHADOW_INDICATOR	BIT(31)

/*
 * IA32_PAT and IA32_EFER as L2 makes them its own in each round: vmcs12
 * loads others at each entry (L1_PAT, L1's EFER) and does not save them
 * at exit, so while L2 runs only the vCPU has L2's.
 */
#define L2_PAT			0x0007040600070406ull
#define L1_PAT			0x0006040600070406ull

static bool l2_shadowing;
static u64 l2_sum;

/*
 * L2: NR_ROUNDS rounds, each ending with a VMCALL; stops at the stages.
 * A state set while L2 runs resumes L2 with its own PAT and EFER, but for
 * the pending entry's stage, whose entry loads vmcs12's, as entries do.
 */
static void l2_guest_code(void)
{
	u64 round, v, efer = rdmsr(MSR_EFER) ^ EFER_SCE;

	for (round = 1; round <= NR_ROUNDS; round++) {
		wrmsr(MSR_IA32_CR_PAT, L2_PAT);
		wrmsr(MSR_EFER, efer);
		l2_sum = l2_sum * 31 + round;
		if (l2_shadowing) {
			v = vmreadz(GUEST_RIP);
			GUEST_ASSERT(!vmwrite(GUEST_RIP, v * 31 + round));
		}
		if (round == STAGE_L2_MALFORMED || round == STAGE_L2_MIGRATE ||
		    round == STAGE_L2_PENDING)
			GUEST_SYNC(round);
		if (round != STAGE_L2_PENDING) {
			GUEST_ASSERT_2(rdmsr(MSR_IA32_CR_PAT) == L2_PAT, round,
				       rdmsr(MSR_IA32_CR_PAT));
			GUEST_ASSERT_2(rdmsr(MSR_EFER) == efer, round,
				       rdmsr(MSR_EFER));
		}
		vmcall();
	}
	vmcall();
}

/* SDM A.3.3: "VMCS shadowing" may be 1 (secondary controls, bit 46) */
static bool l1_offered_shadowing(void)
{
	return (rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) &
	       SECONDARY_EXEC_SHADOW_VMCS;
}

/* vmcs12 names the shadow VMCS, whose GUEST_RIP starts at 0 */
static void l1_give_shadow_vmcs(struct vmx_pages *vmx_pages)
{
	GUEST_ASSERT(!vmptrld(vmx_pages->shadow_vmcs_gpa));
	GUEST_ASSERT(!vmwrite(GUEST_RIP, 0));
	GUEST_ASSERT(!vmptrld(vmx_pages->vmcs_gpa));
	GUEST_ASSERT(!vmwrite(SECONDARY_VM_EXEC_CONTROL,
			      vmreadz(SECONDARY_VM_EXEC_CONTROL) |
			      SECONDARY_EXEC_SHADOW_VMCS));
	GUEST_ASSERT(!vmwrite(VMCS_LINK_POINTER, vmx_pages->shadow_vmcs_gpa));
}

static void l1_guest_code(struct vmx_pages *vmx_pages)
{
	unsigned long l2_stack[256];
	u64 exits = 0, shadow_sum = 0;

	GUEST_ASSERT(prepare_for_vmx_operation(vmx_pages));
	GUEST_SYNC(STAGE_ROOT);
	GUEST_ASSERT(load_vmcs(vmx_pages));
	GUEST_SYNC(STAGE_VMCS);

	prepare_vmcs(vmx_pages, l2_guest_code, &l2_stack[256]);
	GUEST_ASSERT(!vmwrite(VM_ENTRY_CONTROLS, vmreadz(VM_ENTRY_CONTROLS) |
			      VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER));
	GUEST_ASSERT(!vmwrite(GUEST_IA32_PAT, L1_PAT));
	GUEST_ASSERT(!vmwrite(GUEST_IA32_EFER, rdmsr(MSR_EFER)));
	/* L2's WRMSRs do not exit: the MSR bitmap is all zeros */
	GUEST_ASSERT(!vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			      vmreadz(CPU_BASED_VM_EXEC_CONTROL) |
			      CPU_BASED_USE_MSR_BITMAPS));
	l2_shadowing = l1_offered_shadowing();
	if (l2_shadowing)
		l1_give_shadow_vmcs(vmx_pages);

	GUEST_ASSERT(!vmlaunch());
	for (;;) {
		GUEST_ASSERT_2(vmreadz(VM_EXIT_REASON) == EXIT_REASON_VMCALL,
			       vmreadz(VM_EXIT_REASON), vmreadz(EXIT_QUALIFICATION));
		if (++exits == NR_ROUNDS + 1)
			break;
		GUEST_ASSERT(!vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) + 3));
		if (exits == STAGE_L1_MALFORMED)
			GUEST_SYNC(STAGE_L1_MALFORMED);
		GUEST_ASSERT(!vmresume());
	}
	if (l2_shadowing) {
		GUEST_ASSERT(!vmptrld(vmx_pages->shadow_vmcs_gpa));
		shadow_sum = vmreadz(GUEST_RIP);
		GUEST_ASSERT(!vmptrld(vmx_pages->vmcs_gpa));
	}
	GUEST_SYNC_ARGS(STAGE_DONE, exits, l2_sum, shadow_sum, l2_shadowing);
}

/* Host side */

static struct kvm_nested_state *state_dup(struct kvm_nested_state *s)
{
	struct kvm_nested_state *d = nvmx_nested_state_alloc();

	memcpy(d, s, s->size);
	return d;
}

static void *vmcs12_of(struct kvm_nested_state *s)
{
	return s->data.vmx[0].vmcs12;
}

static void *shadow_of(struct kvm_nested_state *s)
{
	return s->data.vmx[0].shadow_vmcs12;
}

static u32 get32(void *vmcs, int off)
{
	u32 v;

	memcpy(&v, (u8 *)vmcs + off, sizeof(v));
	return v;
}

static void put32(void *vmcs, int off, u32 v)
{
	memcpy((u8 *)vmcs + off, &v, sizeof(v));
}

/* api.rst: a buffer too small gets E2BIG and the size the state needs */
static void check_e2big(struct kvm_vcpu *vcpu, u32 need)
{
	struct kvm_nested_state s = { .size = HDR_SIZE };
	int r;

	if (need <= HDR_SIZE)
		return;
	r = __vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, &s);
	HOST_CHECK(r == -1 && errno == E2BIG, "GET into %d bytes: rc %d errno %d",
		   HDR_SIZE, r, errno);
	HOST_CHECK(s.size == need, "size written %u, expected %u", s.size, need);
}

static void check_root(struct kvm_vcpu *vcpu, struct vmx_pages *p)
{
	struct kvm_nested_state *s = nvmx_nested_state_get(vcpu);

	HOST_CHECK(s->format == KVM_STATE_NESTED_FORMAT_VMX, "format %u", s->format);
	HOST_CHECK(s->flags == 0, "flags 0x%x", s->flags);
	HOST_CHECK(s->size == HDR_SIZE, "size %u", s->size);
	HOST_CHECK(s->hdr.vmx.vmxon_pa == p->vmxon_gpa, "vmxon_pa 0x%llx",
		   s->hdr.vmx.vmxon_pa);
	HOST_CHECK(s->hdr.vmx.vmcs12_pa == -1ull, "vmcs12_pa 0x%llx",
		   s->hdr.vmx.vmcs12_pa);
	HOST_CHECK(!s->hdr.vmx.smm.flags && !s->hdr.vmx.flags, "smm 0x%x flags 0x%x",
		   s->hdr.vmx.smm.flags, s->hdr.vmx.flags);
	free(s);
}

static void check_vmcs(struct kvm_vcpu *vcpu, struct vmx_pages *p)
{
	struct kvm_nested_state *s = nvmx_nested_state_get(vcpu);

	HOST_CHECK(s->flags == 0, "flags 0x%x", s->flags);
	HOST_CHECK(s->size == HDR_SIZE + VMCS_SIZE, "size %u", s->size);
	HOST_CHECK(s->hdr.vmx.vmcs12_pa == p->vmcs_gpa, "vmcs12_pa 0x%llx",
		   s->hdr.vmx.vmcs12_pa);
	HOST_CHECK(get32(vmcs12_of(s), OFF_REVISION) == *(u32 *)p->vmcs_hva,
		   "vmcs12 revision 0x%x", get32(vmcs12_of(s), OFF_REVISION));
	check_e2big(vcpu, s->size);
	free(s);
}

/*
 * One malformed state: a change to a valid one in L2, to the header
 * (@mutate) or to a 32- or 64-bit field of vmcs12 or of the shadow VMCS:
 * the field's bits @clear cleared, then @set set.
 */
enum { IN_HEADER, IN_VMCS12, IN_SHADOW };

struct malformed {
	const char *name;
	u8 where;
	u8 width;		/* 4 or 8 bytes */
	u16 off;
	u64 clear, set;
	void (*mutate)(struct kvm_nested_state *s);
	/* malformed only where L1 is not offered this (MSR, bit) */
	u32 unless_msr;
	u64 unless_bit;
	/*
	 * Malformed where L1 is not offered these bits of IA32_VMX_MISC,
	 * which the VMM clears where it is (check_not_offered())
	 */
	u64 misc_clear;
	bool stock_takes;	/* known deviation of stock 6.1: it accepts it */
};

#define UNLESS(msr, bit)	.unless_msr = msr, .unless_bit = bit

static void m_format(struct kvm_nested_state *s)
{
	s->format = KVM_STATE_NESTED_FORMAT_SVM;
}

static void m_evmcs(struct kvm_nested_state *s)
{
	s->flags |= KVM_STATE_NESTED_EVMCS;
}

static void m_mtf(struct kvm_nested_state *s)
{
	s->flags |= KVM_STATE_NESTED_MTF_PENDING;
}

static void m_gif(struct kvm_nested_state *s)
{
	s->flags |= KVM_STATE_NESTED_GIF_SET;
}

static void m_timer(struct kvm_nested_state *s)
{
	s->hdr.vmx.flags = KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE;
}

static void m_vmxon_unaligned(struct kvm_nested_state *s)
{
	s->hdr.vmx.vmxon_pa += 8;
}

static void m_vmxon_maxphy(struct kvm_nested_state *s)
{
	s->hdr.vmx.vmxon_pa = 1ull << 52;
}

static void m_vmxon_none(struct kvm_nested_state *s)
{
	s->hdr.vmx.vmxon_pa = -1ull;
}

static void m_vmcs_unaligned(struct kvm_nested_state *s)
{
	s->hdr.vmx.vmcs12_pa += 8;
}

static void m_vmcs_maxphy(struct kvm_nested_state *s)
{
	s->hdr.vmx.vmcs12_pa = 1ull << 52;
}

static void m_vmcs_is_vmxon(struct kvm_nested_state *s)
{
	s->hdr.vmx.vmcs12_pa = s->hdr.vmx.vmxon_pa;
}

static void m_vmcs_none(struct kvm_nested_state *s)
{
	s->hdr.vmx.vmcs12_pa = -1ull;
}

static void m_size_hdr(struct kvm_nested_state *s)
{
	s->size = HDR_SIZE;
}

static void m_size_no_shadow(struct kvm_nested_state *s)
{
	s->size = HDR_SIZE + VMCS_SIZE;
}

static void m_smm_vmxon(struct kvm_nested_state *s)
{
	s->hdr.vmx.smm.flags = KVM_STATE_NESTED_SMM_VMXON;
}

static void m_smm_guest(struct kvm_nested_state *s)
{
	s->hdr.vmx.smm.flags = KVM_STATE_NESTED_SMM_GUEST_MODE;
}

static void m_smm_unknown(struct kvm_nested_state *s)
{
	s->hdr.vmx.smm.flags = 4;
}

/* SDM 26.2.1.3: with an entry pending, an event of reserved type 1 */
static void m_event_pending(struct kvm_nested_state *s)
{
	u32 info = BIT(31) | (1u << 8);

	s->flags |= KVM_STATE_NESTED_RUN_PENDING;
	memcpy((u8 *)vmcs12_of(s) + OFF_ENTRY_INTR_INFO, &info, sizeof(info));
}

/* SDM 26.6.2: VMLAUNCH and VMRESUME halt L2 at once, nothing pending */
static void m_pending_hlt(struct kvm_nested_state *s)
{
	s->flags |= KVM_STATE_NESTED_RUN_PENDING;
	put32(vmcs12_of(s), OFF_ACTIVITY_STATE, 1);
	put32(vmcs12_of(s), OFF_ENTRY_INTR_INFO, 0);
}

/* SDM 26.6.2: and put it in wait-for-SIPI at once, nothing pending either */
static void m_pending_wfs(struct kvm_nested_state *s)
{
	s->flags |= KVM_STATE_NESTED_RUN_PENDING;
	put32(vmcs12_of(s), OFF_ACTIVITY_STATE, 3);
	put32(vmcs12_of(s), OFF_ENTRY_INTR_INFO, 0);
}

/* SDM 26.6.2: and shut it down at once, unless vectoring (nothing pending) */
static void m_pending_shutdown(struct kvm_nested_state *s)
{
	s->flags |= KVM_STATE_NESTED_RUN_PENDING;
	put32(vmcs12_of(s), OFF_ACTIVITY_STATE, 2);
	put32(vmcs12_of(s), OFF_ENTRY_INTR_INFO, 0);
}

/* SDM 26.3.1.5: L2 in shutdown, an external interrupt to inject (IF 1) */
static void m_shutdown_extint(struct kvm_nested_state *s)
{
	u64 rflags;

	memcpy(&rflags, (u8 *)vmcs12_of(s) + OFF_GUEST_RFLAGS, sizeof(rflags));
	rflags |= BIT(9);
	memcpy((u8 *)vmcs12_of(s) + OFF_GUEST_RFLAGS, &rflags, sizeof(rflags));
	s->flags |= KVM_STATE_NESTED_RUN_PENDING;
	put32(vmcs12_of(s), OFF_ACTIVITY_STATE, 2);
	put32(vmcs12_of(s), OFF_ENTRY_INTR_INFO, BIT(31) | 0x30);
}

#define HDR(n, fn)	{ .name = n, .where = IN_HEADER, .mutate = fn }
#define HDR_SHADOW(n, fn) { .name = n, .where = IN_SHADOW, .mutate = fn }
#define F32(w, n, o, c, s) { .name = n, .where = w, .width = 4, .off = o, \
			     .clear = c, .set = s }
#define F64(w, n, o, c, s) { .name = n, .where = w, .width = 8, .off = o, \
			     .clear = c, .set = s }
/* SDM 26.3.1.2-5: the processor's checks on vmcs02, which stock leaves to it */
#define SEG(n, o, wd, c, s) { .name = n, .where = IN_VMCS12, .width = wd, \
			      .off = o, .clear = c, .set = s, .stock_takes = true }

static const struct malformed malformed[] = {
	HDR("format SVM", m_format),
	HDR("eVMCS flag (not offered)", m_evmcs),
	{ .name = "MTF pending, MTF not offered", .mutate = m_mtf,
	  UNLESS(MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
		 (u64)CPU_BASED_MONITOR_TRAP << 32), .stock_takes = true },
	{ .name = "GIF set (SVM's)", .mutate = m_gif, .stock_takes = true },
	{ .name = "preemption-timer deadline, timer not offered",
	  .mutate = m_timer,
	  UNLESS(MSR_IA32_VMX_TRUE_PINBASED_CTLS,
		 (u64)PIN_BASED_VMX_PREEMPTION_TIMER << 32) },
	HDR("vmxon_pa unaligned", m_vmxon_unaligned),
	HDR("vmxon_pa beyond MAXPHYADDR", m_vmxon_maxphy),
	HDR("guest mode outside VMX operation", m_vmxon_none),
	HDR("vmcs12_pa unaligned", m_vmcs_unaligned),
	HDR("vmcs12_pa beyond MAXPHYADDR", m_vmcs_maxphy),
	HDR("vmcs12_pa == vmxon_pa", m_vmcs_is_vmxon),
	HDR("guest mode without vmcs12", m_vmcs_none),
	HDR("size without vmcs12", m_size_hdr),
	HDR_SHADOW("size without the shadow VMCS", m_size_no_shadow),
	HDR("SMM VMXON outside SMM", m_smm_vmxon),
	HDR("SMM guest mode outside SMM", m_smm_guest),
	HDR("unknown SMM flag", m_smm_unknown),
	HDR("pending entry with a reserved event type", m_event_pending),
	/* SDM 24.2, 26.1 */
	F32(IN_VMCS12, "vmcs12 revision", OFF_REVISION, 1, 0),
	{ .name = "vmcs12 is a shadow VMCS in L2", .where = IN_VMCS12,
	  .width = 4, .off = OFF_REVISION, .set = SHADOW_INDICATOR,
	  .stock_takes = true },
	/* SDM 26.2.1.1: pin-based bit 31 is reserved (allowed-1 clear) */
	F32(IN_VMCS12, "pin-based control reserved bit", OFF_PIN_CONTROLS, 0,
	    BIT(31)),
	/* SDM 26.2.2: host CR4.VMXE is fixed to 1 */
	F64(IN_VMCS12, "host CR4.VMXE clear", OFF_HOST_CR4, X86_CR4_VMXE, 0),
	/* SDM 26.2.4: a 64-bit host's RIP is canonical */
	F64(IN_VMCS12, "host RIP not canonical", OFF_HOST_RIP, 0, BIT_ULL(63)),
	/* SDM 26.3.1.1: guest CR0.NE is fixed to 1 */
	F64(IN_VMCS12, "guest CR0.NE clear", OFF_GUEST_CR0, X86_CR0_NE, 0),
	/* SDM 26.3.1.4: RFLAGS bit 15 is reserved */
	{ .name = "guest RFLAGS bit 15", .where = IN_VMCS12, .width = 8,
	  .off = OFF_GUEST_RFLAGS, .set = BIT(15), .stock_takes = true },
	SEG("guest TR unusable", OFF_GUEST_TR_AR, 4, 0, AR_UNUSABLE),
	SEG("guest TR selector with TI set", OFF_GUEST_TR_SELECTOR, 2, 0,
	    BIT(2)),
	SEG("guest TR base not canonical", OFF_GUEST_TR_BASE, 8, 0,
	    BIT_ULL(63)),
	SEG("guest CS a data segment (no unrestricted guest)", OFF_GUEST_CS_AR,
	    4, 0xf, 3),
	SEG("guest CS.L and CS.D/B both set", OFF_GUEST_CS_AR, 4, 0, AR_DB),
	SEG("guest CS limit bits 11:0 not all 1 with G set",
	    OFF_GUEST_CS_LIMIT, 4, 0xfff, 0),
	SEG("guest CS base bits 63:32", OFF_GUEST_CS_BASE, 8, 0, BIT_ULL(32)),
	SEG("guest SS.DPL not SS.RPL", OFF_GUEST_SS_AR, 4, 0, AR_DPL3),
	SEG("guest DS reserved access-rights bit 8", OFF_GUEST_DS_AR, 4, 0,
	    BIT(8)),
	SEG("guest LDTR usable with type 3", OFF_GUEST_LDTR_AR, 4,
	    AR_UNUSABLE | 0xff, 0x83),
	SEG("guest GDTR limit bit 16", OFF_GUEST_GDTR_LIMIT, 4, 0, BIT(16)),
	SEG("guest RIP not canonical", OFF_GUEST_RIP, 8, 0, BIT_ULL(62)),
	/* SDM 26.3.1.5; L2 runs with RFLAGS.IF clear */
	SEG("guest interruptibility reserved bit 5", OFF_GUEST_INTR_STATE, 4,
	    0, BIT(5)),
	SEG("guest blocking by SMI outside SMM", OFF_GUEST_INTR_STATE, 4, 0,
	    BIT(2)),
	SEG("guest blocking by STI with IF clear", OFF_GUEST_INTR_STATE, 4, 0,
	    BIT(0)),
	SEG("guest pending debug exceptions bit 4", OFF_GUEST_PENDING_DBG, 8,
	    0, BIT(4)),
	{ .name = "pending entry into HLT with no event to wake it",
	  .mutate = m_pending_hlt, .stock_takes = true },
	{ .name = "pending entry into wait-for-SIPI", .mutate = m_pending_wfs,
	  .stock_takes = true },
	{ .name = "pending entry into shutdown, not vectoring",
	  .mutate = m_pending_shutdown },
	/* SDM 26.3.1.5, A.6: shutdown (2) where L1 is not offered it */
	{ .name = "guest activity shutdown, not offered",
	  .where = IN_VMCS12, .width = 4, .off = OFF_ACTIVITY_STATE,
	  .clear = ~0u, .set = 2, .misc_clear = BIT(7) },
	/* SDM 26.3.1.5: in shutdown only an NMI or #MC may be injected */
	{ .name = "guest activity shutdown with an external interrupt",
	  .mutate = m_shutdown_extint },
	/* SDM 26.3.1.5, A.6: wait-for-SIPI (3) where L1 is not offered it */
	{ .name = "guest activity wait-for-SIPI, not offered",
	  .where = IN_VMCS12, .width = 4, .off = OFF_ACTIVITY_STATE,
	  .clear = ~0u, .set = 3, UNLESS(MSR_IA32_VMX_MISC, BIT(8)) },
	/* SDM 26.3.1.5: the link pointer names a shadow VMCS, 4-KByte aligned */
	F64(IN_SHADOW, "link pointer unaligned", OFF_LINK_POINTER, 0, 8),
	F32(IN_SHADOW, "shadow VMCS revision", OFF_REVISION, 1, 0),
	F32(IN_SHADOW, "shadow VMCS without its indicator", OFF_REVISION,
	    SHADOW_INDICATOR, 0),
};

/*
 * Apply @m to @s.  IN_SHADOW fields but the link pointer are the shadow
 * VMCS's; a flipped revision bit is @clear 1 applied as an XOR.
 */
static void malformed_apply(const struct malformed *m,
			    struct kvm_nested_state *s)
{
	void *vmcs = vmcs12_of(s);
	u64 v = 0;

	if (m->mutate) {
		m->mutate(s);
		return;
	}
	if (m->where == IN_SHADOW && m->off != OFF_LINK_POINTER)
		vmcs = shadow_of(s);
	memcpy(&v, (u8 *)vmcs + m->off, m->width);
	if (m->off == OFF_REVISION && m->clear == 1)
		v ^= 1;
	else
		v = (v & ~m->clear) | m->set;
	memcpy((u8 *)vmcs + m->off, &v, m->width);
}

/* The first byte where @a and @b differ, -1 if none */
static long state_diff(struct kvm_nested_state *a, struct kvm_nested_state *b)
{
	u32 i;

	if (a->size != b->size)
		return offsetof(struct kvm_nested_state, size);
	for (i = 0; i < a->size; i++)
		if (((u8 *)a)[i] != ((u8 *)b)[i])
			return i;
	return -1;
}

static bool state_equal(struct kvm_nested_state *a, struct kvm_nested_state *b)
{
	long at = state_diff(a, b);

	if (at >= HDR_SIZE)
		ksft_print_msg("state differs at vmcs12 byte %ld\n",
			       at - HDR_SIZE);
	else if (at >= 0)
		ksft_print_msg("state differs at header byte %ld\n", at);
	return at < 0;
}

/*
 * The state reads back as @want.  Stock 6.1 does not always: a state it
 * refuses can still change the vCPU (it leaves nested operation before
 * some of its checks), and setting a state read in L2 changes exit
 * information (guest linear address) that it reads back.  With stock
 * that is a known deviation, reported, and the state is set again so the
 * run goes on; with nvmx a failure.
 */
static void expect_same(struct kvm_vcpu *vcpu, struct kvm_nested_state *want,
			const char *what)
{
	struct kvm_nested_state *got = nvmx_nested_state_get(vcpu);

	if (state_equal(want, got)) {
		free(got);
		return;
	}
	if (nvmx_host_module_is_nvmx()) {
		HOST_CHECK(false, "%s: the state changed", what);
	} else {
		ksft_print_msg("%s: the state changed (known stock deviation)\n",
			       what);
		nvmx_deviations++;
	}
	vcpu_nested_state_set(vcpu, want);
	free(got);
}

/*
 * The vCPU reads back as snapshot @snap: a state set or refused changes
 * nothing of it, registers and MSRs included (the state's L2, if any, is
 * the one the vCPU had).  Stock 6.1 leaves L2 with L1's VM exit before
 * checking a state in full, loading vmcs12's host state: with stock that
 * is a known deviation, reported, and the vCPU is put back; with nvmx a
 * failure.
 */
static void expect_vcpu_same(struct kvm_vcpu *vcpu,
			     struct nvmx_vcpu_snapshot *snap, const char *what)
{
	if (!nvmx_vcpu_snapshot_differs(vcpu, snap, what))
		return;
	if (nvmx_host_module_is_nvmx()) {
		HOST_CHECK(false, "%s: the vCPU changed", what);
	} else {
		ksft_print_msg("%s: the vCPU changed (known stock deviation)\n",
			       what);
		nvmx_deviations++;
	}
	nvmx_vcpu_snapshot_put(vcpu, snap);
}

/* Is @m a malformed state for this vCPU and this module? */
static bool malformed_here(struct kvm_vcpu *vcpu, const struct malformed *m,
			   bool shadow)
{
	if (m->where == IN_SHADOW && !shadow)
		return false;
	return m->misc_clear || !m->unless_msr ||
	       !(vcpu_get_msr(vcpu, m->unless_msr) & m->unless_bit);
}

/*
 * A vCPU outside VMX operation: no VMXON region (api.rst), where the
 * VMX capability MSRs may be written (vmx_set_vmx_msr(): -EBUSY in VMX
 * operation, as L1 relies on them).
 */
static const struct kvm_nested_state outside_vmx = {
	.format = KVM_STATE_NESTED_FORMAT_VMX,
	.size = HDR_SIZE,
	.hdr.vmx.vmxon_pa = -1ull,
	.hdr.vmx.vmcs12_pa = -1ull,
};

/*
 * @m, malformed where L1 is not offered the activity state @mal's
 * IA32_VMX_MISC bits name (SDM A.6), on a vCPU that offers it: out of VMX
 * operation, the bits cleared (allowed: SDM A.6's flags may be), then @m
 * refused (-EINVAL) with the vCPU still outside VMX operation and
 * otherwise as it was.  Then the MSR as it was, @cur and snapshot @snap
 * back.
 */
static void check_not_offered(struct kvm_vcpu *vcpu, struct kvm_nested_state *m,
			      struct kvm_nested_state *cur,
			      struct nvmx_vcpu_snapshot *snap,
			      const struct malformed *mal)
{
	u64 misc = vcpu_get_msr(vcpu, MSR_IA32_VMX_MISC);
	struct nvmx_vcpu_snapshot outside;
	struct kvm_nested_state *now;
	int r;

	vcpu_nested_state_set(vcpu, (struct kvm_nested_state *)&outside_vmx);
	r = _vcpu_set_msr(vcpu, MSR_IA32_VMX_MISC, misc & ~mal->misc_clear);
	HOST_CHECK(r == 1, "%s: IA32_VMX_MISC 0x%lx refused", mal->name,
		   misc & ~mal->misc_clear);
	nvmx_vcpu_snapshot_take(vcpu, &outside);
	r = __vcpu_nested_state_set(vcpu, m);
	HOST_CHECK(r == -1 && errno == EINVAL, "%s (IA32_VMX_MISC 0x%lx): rc %d errno %d",
		   mal->name, vcpu_get_msr(vcpu, MSR_IA32_VMX_MISC), r, errno);
	if (nvmx_vcpu_snapshot_differs(vcpu, &outside, mal->name))
		HOST_CHECK(false, "%s: the vCPU changed", mal->name);
	now = nvmx_nested_state_get(vcpu);
	HOST_CHECK(now->hdr.vmx.vmxon_pa == -1ull && !now->flags,
		   "%s: vmxon_pa 0x%llx flags 0x%x after the refusal", mal->name,
		   now->hdr.vmx.vmxon_pa, now->flags);
	free(now);

	vcpu_nested_state_set(vcpu, (struct kvm_nested_state *)&outside_vmx);
	vcpu_set_msr(vcpu, MSR_IA32_VMX_MISC, misc);
	vcpu_nested_state_set(vcpu, cur);
	nvmx_vcpu_snapshot_put(vcpu, snap);
	expect_same(vcpu, cur, mal->name);
}

/*
 * Each malformed state, made from @s, a state in L2: -EINVAL, and the
 * vCPU, whose nested state is @cur, unchanged: registers, MSRs and events
 * first (setting the nested state again could put back what a refused
 * state changed), then the nested state.  A state stock takes is followed
 * by @cur and the vCPU's snapshot again.
 */
static void check_malformed(struct kvm_vcpu *vcpu, struct kvm_nested_state *s,
			    struct kvm_nested_state *cur, bool shadow)
{
	struct nvmx_vcpu_snapshot snap;
	struct kvm_nested_state *m;
	unsigned int i;
	int r;

	nvmx_vcpu_snapshot_take(vcpu, &snap);
	for (i = 0; i < ARRAY_SIZE(malformed); i++) {
		if (!malformed_here(vcpu, &malformed[i], shadow))
			continue;
		m = state_dup(s);
		malformed_apply(&malformed[i], m);
		if (malformed[i].misc_clear &&
		    (vcpu_get_msr(vcpu, MSR_IA32_VMX_MISC) &
		     malformed[i].misc_clear)) {
			check_not_offered(vcpu, m, cur, &snap, &malformed[i]);
			free(m);
			continue;
		}
		r = __vcpu_nested_state_set(vcpu, m);
		if (!r && malformed[i].stock_takes && !nvmx_host_module_is_nvmx()) {
			ksft_print_msg("%s: taken (known stock deviation)\n",
				       malformed[i].name);
			nvmx_deviations++;
		} else {
			HOST_CHECK(r == -1 && errno == EINVAL, "%s: rc %d errno %d",
				   malformed[i].name, r, errno);
		}
		if (r) {
			expect_vcpu_same(vcpu, &snap, malformed[i].name);
			expect_same(vcpu, cur, malformed[i].name);
		} else {
			vcpu_nested_state_set(vcpu, cur);
			expect_vcpu_same(vcpu, &snap, malformed[i].name);
		}
		free(m);
	}
}

static void check_l2(struct kvm_vcpu *vcpu, struct kvm_nested_state *s,
		     bool shadow)
{
	u32 size = HDR_SIZE + VMCS_SIZE * (shadow ? 2 : 1);

	HOST_CHECK(s->flags == KVM_STATE_NESTED_GUEST_MODE, "flags 0x%x", s->flags);
	HOST_CHECK(s->size == size, "size %u, expected %u", s->size, size);
	if (shadow)
		HOST_CHECK(get32(shadow_of(s), OFF_REVISION) & SHADOW_INDICATOR,
			   "shadow VMCS indicator clear");
	check_e2big(vcpu, s->size);
}

static void stage_l2_malformed(struct kvm_vcpu *vcpu, bool shadow)
{
	struct kvm_nested_state *s = nvmx_nested_state_get(vcpu), *again;
	struct nvmx_vcpu_snapshot snap;

	check_l2(vcpu, s, shadow);
	nvmx_vcpu_snapshot_take(vcpu, &snap);
	vcpu_nested_state_set(vcpu, s);
	expect_vcpu_same(vcpu, &snap, "the state set again");
	expect_same(vcpu, s, "the state set again");
	again = nvmx_nested_state_get(vcpu);
	check_malformed(vcpu, again, again, shadow);
	free(again);
	free(s);
}

/*
 * In root operation after an exit from L2: vmcs12 holds L2's state as the
 * exit saved it, so the same state with the guest-mode flag, and the
 * shadow VMCS vmcs12 names as L1's memory holds it (stock's GET carries it
 * in guest mode only), is a valid state in L2 (set, then the state in
 * root operation again, which leaves L2 without L1's VM exit: the vCPU
 * keeps L2's registers and gets its own back from the snapshot).  Each
 * malformed state made from it is refused and leaves the vCPU in root
 * operation as it was.
 */
static void stage_l1_malformed(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
			       bool shadow)
{
	struct kvm_nested_state *root = nvmx_nested_state_get(vcpu), *l2;
	struct nvmx_vcpu_snapshot snap;
	u64 link;
	int r;

	HOST_CHECK(root->flags == 0, "flags 0x%x", root->flags);
	l2 = state_dup(root);
	l2->flags |= KVM_STATE_NESTED_GUEST_MODE;
	if (shadow) {
		memcpy(&link, (u8 *)vmcs12_of(l2) + OFF_LINK_POINTER,
		       sizeof(link));
		memcpy(shadow_of(l2), addr_gpa2hva(vm, link), VMCS_SIZE);
		l2->size = HDR_SIZE + 2 * VMCS_SIZE;
	}
	nvmx_vcpu_snapshot_take(vcpu, &snap);
	r = __vcpu_nested_state_set(vcpu, l2);
	HOST_CHECK(!r, "L2 from the vmcs12 of an exit: rc %d errno %d", r, errno);
	vcpu_nested_state_set(vcpu, root);
	expect_same(vcpu, root, "root operation after L2");
	nvmx_vcpu_snapshot_put(vcpu, &snap);
	check_malformed(vcpu, l2, root, shadow);
	free(l2);
	free(root);
}

static void stage_l2_pending(struct kvm_vcpu *vcpu)
{
	struct kvm_nested_state *s = nvmx_nested_state_get(vcpu), *p;

	s->flags |= KVM_STATE_NESTED_RUN_PENDING;
	vcpu_nested_state_set(vcpu, s);
	p = nvmx_nested_state_get(vcpu);
	HOST_CHECK(p->flags == (KVM_STATE_NESTED_GUEST_MODE |
				KVM_STATE_NESTED_RUN_PENDING), "flags 0x%x", p->flags);
	free(p);
	expect_same(vcpu, s, "the pending entry's state");
	free(s);
}

/*
 * A pending entry into a guest state KVM would have to emulate (TR
 * unusable, no unrestricted guest; SDM 26.3.1.2): -EINVAL, no kernel
 * warning, and the vCPU as it was.  Not with stock 6.1, which takes it and
 * then stops the VM with a KVM_BUG_ON (WARN) for an entry pending into a
 * state it must emulate.
 */
static void stage_l2_pending_unrunnable(struct kvm_vcpu *vcpu)
{
	struct kvm_nested_state *s = nvmx_nested_state_get(vcpu), *m;
	struct nvmx_vcpu_snapshot snap;
	int r;

	if (!nvmx_host_module_is_nvmx()) {
		ksft_print_msg("pending entry into an unusable TR: %s\n",
			       "not tried with stock (KVM_BUG_ON)");
		free(s);
		return;
	}
	m = state_dup(s);
	m->flags |= KVM_STATE_NESTED_RUN_PENDING;
	put32(vmcs12_of(m), OFF_GUEST_TR_AR,
	      get32(vmcs12_of(m), OFF_GUEST_TR_AR) | AR_UNUSABLE);
	HOST_CHECK(!(get32(vmcs12_of(m), OFF_SECONDARY_CONTROLS) &
		     EXEC2_UNRESTRICTED), "L2 runs with unrestricted guest");
	nvmx_vcpu_snapshot_take(vcpu, &snap);
	r = __vcpu_nested_state_set(vcpu, m);
	HOST_CHECK(r == -1 && errno == EINVAL,
		   "pending entry into an unusable TR: rc %d errno %d", r, errno);
	expect_vcpu_same(vcpu, &snap, "pending entry into an unusable TR");
	expect_same(vcpu, s, "pending entry into an unusable TR");
	free(m);
	free(s);
}

/*
 * SDM 26.3.1.5: without VMCS shadowing, a link pointer other than ~0 names
 * a VMCS that is not a shadow VMCS.  The state carries no such VMCS: L1's
 * memory has it, here the VMXON region (our revision identifier, bit 31
 * clear; SDM 24.11.5): taken.  A page of zeros there instead: -EINVAL,
 * and the vCPU as it was.
 */
static void stage_l2_link_pointer(struct kvm_vcpu *vcpu, struct vmx_pages *p)
{
	struct kvm_nested_state *s = nvmx_nested_state_get(vcpu), *m;
	u64 names[] = { p->vmxon_gpa, p->msr_gpa };
	struct nvmx_vcpu_snapshot snap;
	unsigned int i;
	int r;

	nvmx_vcpu_snapshot_take(vcpu, &snap);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		m = state_dup(s);
		put32(vmcs12_of(m), OFF_SECONDARY_CONTROLS,
		      get32(vmcs12_of(m), OFF_SECONDARY_CONTROLS) &
		      ~SECONDARY_EXEC_SHADOW_VMCS);
		memcpy((u8 *)vmcs12_of(m) + OFF_LINK_POINTER, &names[i], 8);
		r = __vcpu_nested_state_set(vcpu, m);
		if (!i) {
			HOST_CHECK(!r, "link pointer to the VMXON region: rc %d errno %d",
				   r, errno);
			vcpu_nested_state_set(vcpu, s);
		} else {
			HOST_CHECK(r == -1 && errno == EINVAL,
				   "link pointer to a page of zeros: rc %d errno %d",
				   r, errno);
		}
		expect_vcpu_same(vcpu, &snap, "link pointer without shadowing");
		expect_same(vcpu, s, "link pointer without shadowing");
		free(m);
	}
	free(s);
}

/* The whole vCPU into a new VM, memory kept (as state_test) */
static struct kvm_vcpu *migrate(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvm_x86_state *state = vcpu_save_state(vcpu);
	struct kvm_regs before, after;

	vcpu_regs_get(vcpu, &before);
	kvm_vm_release(vm);
	vcpu = vm_recreate_with_one_vcpu(vm);
	vcpu_load_state(vcpu, state);
	kvm_x86_state_cleanup(state);
	vcpu_regs_get(vcpu, &after);
	HOST_CHECK(!memcmp(&before, &after, sizeof(after)),
		   "registers differ after the move: rip 0x%llx, was 0x%llx",
		   after.rip, before.rip);
	return vcpu;
}

/* What L1 reports at the end */
struct result {
	u64 exits, sum, shadow_sum, shadowing;
};

/* SDM A.3.3, as the host reads L1's capability MSR */
static bool shadowing_offered(struct kvm_vcpu *vcpu)
{
	return (vcpu_get_msr(vcpu, MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) &
	       SECONDARY_EXEC_SHADOW_VMCS;
}

/* The host's part at one stage; may give the vCPU a new VM */
static struct kvm_vcpu *stage(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
			      struct vmx_pages *pages, u64 nr)
{
	/* KVM's state is complete once the I/O is (state_test) */
	vcpu_run_complete_io(vcpu);
	switch (nr) {
	case STAGE_ROOT:
		check_root(vcpu, pages);
		break;
	case STAGE_VMCS:
		check_vmcs(vcpu, pages);
		break;
	case STAGE_L2_MALFORMED:
		stage_l2_malformed(vcpu, shadowing_offered(vcpu));
		stage_l2_link_pointer(vcpu, pages);
		break;
	case STAGE_L1_MALFORMED:
		stage_l1_malformed(vm, vcpu, shadowing_offered(vcpu));
		break;
	case STAGE_L2_MIGRATE:
		return migrate(vm, vcpu);
	case STAGE_L2_PENDING:
		stage_l2_pending(vcpu);
		stage_l2_pending_unrunnable(vcpu);
		break;
	}
	return vcpu;
}

static struct result run(bool save_restore)
{
	struct vmx_pages *pages;
	vm_vaddr_t pages_gva;
	struct kvm_vcpu *vcpu;
	struct result res;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	pages = vcpu_alloc_vmx(vm, &pages_gva);
	vcpu_args_set(vcpu, 1, pages_gva);

	for (;;) {
		if (nvmx_run_to_sync(vcpu, &uc) == STAGE_DONE)
			break;
		if (save_restore)
			vcpu = stage(vm, vcpu, pages, uc.args[1]);
	}
	res = (struct result){ uc.args[2], uc.args[3], uc.args[4], uc.args[5] };
	kvm_vm_free(vm);
	return res;
}

int main(int argc, char *argv[])
{
	struct result plain, moved;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));

	ksft_print_header();
	ksft_set_plan(2);

	plain = run(false);
	ksft_print_msg("without save/restore: %lu exits, checksum 0x%lx, shadow VMCS 0x%lx%s\n",
		       plain.exits, plain.sum, plain.shadow_sum,
		       plain.shadowing ? "" : " (VMCS shadowing not offered)");
	moved = run(true);
	ksft_print_msg("with save/restore: %lu exits, checksum 0x%lx, shadow VMCS 0x%lx\n",
		       moved.exits, moved.sum, moved.shadow_sum);

	HOST_CHECK(plain.exits == NR_ROUNDS + 1, "exits %lu", plain.exits);
	HOST_CHECK(!plain.shadowing || plain.shadow_sum == plain.sum,
		   "shadow VMCS 0x%lx, checksum 0x%lx", plain.shadow_sum, plain.sum);
	HOST_CHECK(!memcmp(&plain, &moved, sizeof(plain)),
		   "the run with save/restore ended differently");
	if (nvmx_deviations)
		ksft_print_msg("%d known stock deviations: %s\n", nvmx_deviations,
			       "malformed states taken, states or vCPUs changed");
	ksft_test_result(!nvmx_failures, "save/restore in each state, malformed states refused\n");
	if (plain.shadowing)
		ksft_test_result(moved.shadow_sum == plain.shadow_sum,
				 "shadow VMCS survives the round trip\n");
	else
		ksft_test_result_skip("shadow VMCS: VMCS shadowing not offered to L1\n");
	ksft_finished();
	return 0;
}
