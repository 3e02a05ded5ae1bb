// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_vmx_insn_test: VMX instructions executed by L1 outside a VM entry.
 *
 * L1 checks VMXON, VMXOFF, VMPTRLD, VMPTRST, VMCLEAR, VMREAD and VMWRITE
 * against the SDM Vol. 3C 30.3 pseudocode: #UD outside VMX operation, the
 * VMfailInvalid (CF=1) and VMfailValid (ZF=1) outcomes with the error numbers
 * of 30.4, field widths and the "high" access type (24.11.2), memory
 * operands, INVEPT/INVVPID #UD when not offered, and VMCLEAR of the current
 * VMCS.  Userspace checks which writes to the VMX capability MSRs are
 * refused.
 *
 * Where the SDM makes an outcome depend on a capability (VMCS shadowing,
 * VMWRITE to read-only fields, EPT, VPID), L1 reads the capability MSRs and
 * checks the outcome that goes with what it is offered.
 *
 * VMWRITE to the VM-exit information fields (IA32_VMX_MISC bit 29, A.6):
 * L1 writes every one vmcs12 has and reads each back; the VMM finds the
 * values in KVM_GET_NESTED_STATE, changes them and restores the state, and
 * L1 reads the VMM's values; then the VMM clears bit 29 and every such
 * VMWRITE fails with VMfailValid(13), leaving the field as it was.  A module
 * that does not offer bit 29 skips this, but nvmx, which offers it on any
 * processor.
 *
 * Section numbers are those of the SDM editions that number the VMX
 * instruction reference chapter 30; newer editions add one.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

/* The vmcs12 layout of the nested-state blob (6.1's, the same for stock) */
#include <nvmx/vmcs12_table.h>

#include "nvmx_module.h"

/* Arithmetic flags written by VMX instructions (30.2) */
#define F_CF		0x0001ull
#define F_PF		0x0004ull
#define F_AF		0x0010ull
#define F_ZF		0x0040ull
#define F_SF		0x0080ull
#define F_OF		0x0800ull
#define F_ALL		(F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* VM-instruction error numbers (30.4) */
#define ERR_VMCLEAR_BAD_ADDR		2
#define ERR_VMCLEAR_VMXON_PTR		3
#define ERR_VMPTRLD_BAD_ADDR		9
#define ERR_VMPTRLD_VMXON_PTR		10
#define ERR_VMPTRLD_BAD_REVISION	11
#define ERR_UNSUPPORTED_FIELD		12
#define ERR_VMWRITE_READ_ONLY		13
#define ERR_VMXON_IN_ROOT		15

/* Notes L1 passes with a stage: capabilities that changed what it checked */
#define NOTE_SHADOW_VMCS	BIT_ULL(0)
#define NOTE_VMWRITE_ANY	BIT_ULL(1)
#define NOTE_EPT		BIT_ULL(2)
#define NOTE_VPID		BIT_ULL(3)
#define NOTE_NO_VMWRITE_ANY	BIT_ULL(4)

enum stage {
	ST_VMXON_CHECKS,
	ST_NO_CURRENT_VMCS,
	ST_VMFAIL_VALID_ERRORS,
	ST_FIELD_WIDTHS,
	ST_NOT_OFFERED_UD,
	ST_VMCLEAR_CURRENT,
	ST_READ_ONLY_WRITTEN,
	ST_READ_ONLY_RESTORED,
	ST_READ_ONLY_REFUSED,
	ST_NR_GUEST,
};

static const char * const stage_name[] = {
	[ST_VMXON_CHECKS]		= "vmxon_checks",
	[ST_NO_CURRENT_VMCS]		= "no_current_vmcs",
	[ST_VMFAIL_VALID_ERRORS]	= "vmfail_valid_errors",
	[ST_FIELD_WIDTHS]		= "field_widths",
	[ST_NOT_OFFERED_UD]		= "not_offered_ud",
	[ST_VMCLEAR_CURRENT]		= "vmclear_current",
	[ST_READ_ONLY_WRITTEN]		= "vmwrite_any_field_written",
	[ST_READ_ONLY_RESTORED]		= "vmwrite_any_field_restored",
	[ST_READ_ONLY_REFUSED]		= "vmwrite_any_field_cleared",
};

/*
 * The VM-exit information fields (encoding bits 11:10 = 1, B.1-B.4) that
 * KVM's vmcs12 has: what L1 writes with bit 29, and what VMREAD returns
 * then, the operand's bits beyond the field's width dropped (30.3 VMWRITE).
 */
static const struct {
	uint64_t field;
	uint64_t write;
	uint64_t read;
} ro_fields[] = {
	{ GUEST_PHYSICAL_ADDRESS, 0x0123456789abc000ull, 0x0123456789abc000ull },
	{ VM_INSTRUCTION_ERROR, 0xa5a5a5a500000007ull, 0x7 },
	{ VM_EXIT_REASON, 0xffffffff80000021ull, 0x80000021 },
	{ VM_EXIT_INTR_INFO, 0x1234567880000b0eull, 0x80000b0e },
	{ VM_EXIT_INTR_ERROR_CODE, 0xffffffff0000fffeull, 0xfffe },
	{ IDT_VECTORING_INFO_FIELD, 0x0000000180000306ull, 0x80000306 },
	{ IDT_VECTORING_ERROR_CODE, 0x00000001deadbeefull, 0xdeadbeef },
	{ VM_EXIT_INSTRUCTION_LEN, 0x0000000f0000000full, 0xf },
	{ VMX_INSTRUCTION_INFO, 0x7fffffffffffffffull, 0xffffffff },
	{ EXIT_QUALIFICATION, 0xfedcba9876543210ull, 0xfedcba9876543210ull },
	{ GUEST_LINEAR_ADDRESS, 0xffff800012345678ull, 0xffff800012345678ull },
};

/*
 * The I/O RCX, RSI, RDI and RIP fields (B.4.2): exit information too, but
 * not in KVM's vmcs12, so unsupported (VMfailValid(12)) whatever bit 29 says.
 */
static const uint64_t io_state_fields[] = { 0x6402, 0x6404, 0x6406, 0x6408 };

/* The bits a field of encoding @field holds (24.11.2: width in bits 14:13) */
static uint64_t field_mask(uint64_t field)
{
	switch ((field >> 13) & 3) {
	case 0:
		return 0xffff;
	case 2:
		return 0xffffffff;
	default:
		return ~0ull;
	}
}

/* The value the VMM puts in place of L1's: every bit of the field flipped */
static uint64_t vmm_value(int i)
{
	return ~ro_fields[i].read & field_mask(ro_fields[i].field);
}

static uint64_t cur_stage;

/* Evaluate each side once; a failure reports the stage and both values. */
#define CHECK_EQ(a, b)							\
do {									\
	uint64_t __a = (uint64_t)(a), __b = (uint64_t)(b);		\
	__GUEST_ASSERT(__a == __b, #a " == " #b, 3, cur_stage, __a, __b); \
} while (0)

#define CHECK(c)	__GUEST_ASSERT(c, #c, 3, cur_stage, 0, 0)

/*
 * RFLAGS after a VMX instruction.  PUSHF writes below RSP, so step over the
 * red zone first: the compiler may keep a memory operand there.
 */
#define FLAGS_TAIL							\
	"\n\tlea -128(%%rsp), %%rsp\n\tpushf\n\tpop %[rf]\n\t"	\
	"lea 128(%%rsp), %%rsp"

static uint64_t vmxon_fl(uint64_t pa)
{
	uint64_t rf;

	asm volatile("vmxon %[pa]" FLAGS_TAIL
		     : [rf] "=r"(rf) : [pa] "m"(pa) : "cc", "memory");
	return rf & F_ALL;
}

static uint64_t vmptrld_fl(uint64_t pa)
{
	uint64_t rf;

	asm volatile("vmptrld %[pa]" FLAGS_TAIL
		     : [rf] "=r"(rf) : [pa] "m"(pa) : "cc", "memory");
	return rf & F_ALL;
}

static uint64_t vmclear_fl(uint64_t pa)
{
	uint64_t rf;

	asm volatile("vmclear %[pa]" FLAGS_TAIL
		     : [rf] "=r"(rf) : [pa] "m"(pa) : "cc", "memory");
	return rf & F_ALL;
}

static uint64_t vmread_fl(uint64_t field, uint64_t *val)
{
	uint64_t v = 0xdeadbeefull, rf;

	asm volatile("vmread %[f], %[v]" FLAGS_TAIL
		     : [rf] "=r"(rf), [v] "+r"(v) : [f] "r"(field)
		     : "cc", "memory");
	*val = v;
	return rf & F_ALL;
}

static uint64_t vmread_mem_fl(uint64_t field, uint64_t *mem)
{
	uint64_t rf;

	asm volatile("vmread %[f], %[m]" FLAGS_TAIL
		     : [rf] "=r"(rf), [m] "+m"(*mem) : [f] "r"(field)
		     : "cc", "memory");
	return rf & F_ALL;
}

static uint64_t vmwrite_fl(uint64_t field, uint64_t val)
{
	uint64_t rf;

	asm volatile("vmwrite %[v], %[f]" FLAGS_TAIL
		     : [rf] "=r"(rf) : [v] "r"(val), [f] "r"(field)
		     : "cc", "memory");
	return rf & F_ALL;
}

static uint64_t vmwrite_mem_fl(uint64_t field, uint64_t *mem)
{
	uint64_t rf;

	asm volatile("vmwrite %[m], %[f]" FLAGS_TAIL
		     : [rf] "=r"(rf) : [m] "m"(*mem), [f] "r"(field)
		     : "cc", "memory");
	return rf & F_ALL;
}

/* The VM-instruction error field, read with a VMREAD that must succeed */
static uint64_t insn_error(void)
{
	uint64_t v;

	CHECK_EQ(vmread_fl(VM_INSTRUCTION_ERROR, &v), 0);
	return v;
}

static void stage_done(enum stage st, uint64_t notes)
{
	GUEST_SYNC_ARGS(st, notes, 0, 0, 0);
	cur_stage = st + 1;
}

/* Allowed-1 half of IA32_VMX_PROCBASED_CTLS2, 0 without secondary controls */
static uint32_t ctls2_allowed1(void)
{
	if (!(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32 &
	      CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
		return 0;
	return rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
}

static struct { uint64_t a, b; } inv_desc;
static uint64_t vmread_sink;

/* Whether L1 was offered bit 29 at the start of the read-only stages */
static bool vmwrite_any;

/* VMREAD and VMWRITE of the I/O state fields fail: unsupported (30.3) */
static void io_state_unsupported(void)
{
	uint64_t v;
	int i;

	for (i = 0; i < ARRAY_SIZE(io_state_fields); i++) {
		CHECK_EQ(vmwrite_fl(io_state_fields[i], 0), F_ZF);
		CHECK_EQ(insn_error(), ERR_UNSUPPORTED_FIELD);
		CHECK_EQ(vmread_fl(io_state_fields[i], &v), F_ZF);
		CHECK_EQ(insn_error(), ERR_UNSUPPORTED_FIELD);
	}
}

/* Each read-only field reads as L1 (@vmm false) or the VMM wrote it */
static void read_only_fields_read(bool vmm)
{
	uint64_t v;
	int i;

	for (i = 0; i < ARRAY_SIZE(ro_fields); i++) {
		CHECK_EQ(vmread_fl(ro_fields[i].field, &v), 0);
		CHECK_EQ(v, vmm ? vmm_value(i) : ro_fields[i].read);
	}
}

/*
 * With IA32_VMX_MISC bit 29 (A.6) VMWRITE writes the exit information like
 * any field (30.3 VMWRITE), the high half of the 64-bit one too (24.11.2).
 */
static void read_only_fields_write(void)
{
	uint64_t v;
	int i;

	CHECK_EQ(vmwrite_fl(GUEST_PHYSICAL_ADDRESS, 0x1111111122222222ull), 0);
	CHECK_EQ(vmwrite_fl(GUEST_PHYSICAL_ADDRESS_HIGH, 0xffffffff0000cafeull), 0);
	CHECK_EQ(vmread_fl(GUEST_PHYSICAL_ADDRESS, &v), 0);
	CHECK_EQ(v, 0x0000cafe22222222ull);
	CHECK_EQ(vmread_fl(GUEST_PHYSICAL_ADDRESS_HIGH, &v), 0);
	CHECK_EQ(v, 0xcafe);
	for (i = 0; i < ARRAY_SIZE(ro_fields); i++)
		CHECK_EQ(vmwrite_fl(ro_fields[i].field, ro_fields[i].write), 0);
	read_only_fields_read(false);
}

/*
 * Without bit 29 every VMWRITE of exit information fails with
 * VMfailValid(13) and leaves the field as the VMM restored it; the failure
 * itself writes VM-instruction error (30.2).
 */
static void read_only_fields_refused(void)
{
	uint64_t v;
	int i;

	for (i = 0; i < ARRAY_SIZE(ro_fields); i++) {
		CHECK_EQ(vmwrite_fl(ro_fields[i].field, ro_fields[i].write), F_ZF);
		CHECK_EQ(insn_error(), ERR_VMWRITE_READ_ONLY);
		if (ro_fields[i].field == VM_INSTRUCTION_ERROR)
			continue;
		CHECK_EQ(vmread_fl(ro_fields[i].field, &v), 0);
		CHECK_EQ(v, vmm_value(i));
	}
	CHECK_EQ(vmwrite_fl(GUEST_PHYSICAL_ADDRESS_HIGH, 0), F_ZF);
	CHECK_EQ(insn_error(), ERR_VMWRITE_READ_ONLY);
	CHECK_EQ(vmread_fl(GUEST_PHYSICAL_ADDRESS, &v), 0);
	CHECK_EQ(v, vmm_value(0));
}

/* The read-only stages: VMXON and the VMCS of the earlier stages current */
static void read_only_stages(struct vmx_pages *vmx)
{
	uint64_t pa = vmx->vmxon_gpa;
	uint64_t notes;

	vmwrite_any = rdmsr(MSR_IA32_VMX_MISC) & BIT_ULL(29);
	notes = vmwrite_any ? 0 : NOTE_NO_VMWRITE_ANY;

	CHECK_EQ(vmxon_fl(pa), 0);
	CHECK_EQ(vmptrld_fl(vmx->vmcs_gpa), 0);
	io_state_unsupported();
	if (vmwrite_any)
		read_only_fields_write();
	/* the VMM saves the nested state, changes the fields, restores it */
	stage_done(ST_READ_ONLY_WRITTEN, notes);

	if (vmwrite_any)
		read_only_fields_read(true);
	CHECK_EQ(vmclear_fl(vmx->vmcs_gpa), 0);
	__asm__ __volatile__("vmxoff");
	/* the VMM clears IA32_VMX_MISC bit 29 */
	stage_done(ST_READ_ONLY_RESTORED, notes);

	if (vmwrite_any) {
		CHECK_EQ(rdmsr(MSR_IA32_VMX_MISC) & BIT_ULL(29), 0);
		CHECK_EQ(vmxon_fl(pa), 0);
		CHECK_EQ(vmptrld_fl(vmx->vmcs_gpa), 0);
		/* An unsupported field fails before a read-only one (30.3) */
		io_state_unsupported();
		read_only_fields_refused();
		CHECK_EQ(vmclear_fl(vmx->vmcs_gpa), 0);
		__asm__ __volatile__("vmxoff");
	}
	stage_done(ST_READ_ONLY_REFUSED, notes);
}

static void l1_guest_code(struct vmx_pages *vmx)
{
	uint64_t pa = vmx->vmxon_gpa;
	uint32_t *vmxon_rev = vmx->vmxon;
	uint32_t *other_rev = vmx->vmwrite;
	uint64_t notes, v, m;
	uint32_t ctls2;

	/* VMXON with CR4.VMXE = 0: #UD (30.3 VMXON) */
	cur_stage = ST_VMXON_CHECKS;
	CHECK_EQ(kvm_asm_safe("vmxon %[pa]", [pa] "m"(pa)), UD_VECTOR);

	CHECK(prepare_for_vmx_operation(vmx));
	__asm__ __volatile__("vmxoff");

	/* Outside VMX operation VMREAD and VMXOFF #UD (30.3) */
	CHECK_EQ(kvm_asm_safe("vmread %[f], %[m]", [f] "r"((uint64_t)GUEST_RIP),
			      [m] "m"(vmread_sink)), UD_VECTOR);
	CHECK_EQ(kvm_asm_safe("vmxoff"), UD_VECTOR);

	/* VMXON: unaligned, beyond MAXPHYADDR, wrong revision: VMfailInvalid */
	CHECK_EQ(vmxon_fl(pa + 8), F_CF);
	CHECK_EQ(vmxon_fl(1ull << 51), F_CF);
	*vmxon_rev = 0;
	CHECK_EQ(vmxon_fl(pa), F_CF);
	*vmxon_rev = vmcs_revision() | 0x80000000u;
	CHECK_EQ(vmxon_fl(pa), F_CF);
	*vmxon_rev = vmcs_revision();
	CHECK_EQ(vmxon_fl(pa), 0);
	stage_done(ST_VMXON_CHECKS, 0);

	/* No current VMCS: failures are VMfailInvalid (30.2) */
	CHECK_EQ(vmxon_fl(pa), F_CF);
	CHECK_EQ(vmptrstz(), -1ull);
	CHECK_EQ(vmread_fl(GUEST_RIP, &v), F_CF);
	CHECK_EQ(vmwrite_fl(GUEST_RIP, 1), F_CF);
	CHECK_EQ(vmptrld_fl(pa + 8), F_CF);
	CHECK(load_vmcs(vmx));
	CHECK_EQ(vmptrstz(), vmx->vmcs_gpa);
	stage_done(ST_NO_CURRENT_VMCS, 0);

	/* With a current VMCS: VMfailValid and the error number (30.4) */
	notes = 0;
	CHECK_EQ(vmxon_fl(pa), F_ZF);
	CHECK_EQ(insn_error(), ERR_VMXON_IN_ROOT);
	CHECK_EQ(vmptrld_fl(pa), F_ZF);
	CHECK_EQ(insn_error(), ERR_VMPTRLD_VMXON_PTR);
	CHECK_EQ(vmptrld_fl(vmx->vmcs_gpa + 0x10), F_ZF);
	CHECK_EQ(insn_error(), ERR_VMPTRLD_BAD_ADDR);
	CHECK_EQ(vmptrld_fl(1ull << 51), F_ZF);
	CHECK_EQ(insn_error(), ERR_VMPTRLD_BAD_ADDR);
	*other_rev = 0x1234;
	CHECK_EQ(vmptrld_fl(vmx->vmwrite_gpa), F_ZF);
	CHECK_EQ(insn_error(), ERR_VMPTRLD_BAD_REVISION);
	/*
	 * A shadow-VMCS indicator is refused only without the 1-setting of
	 * "VMCS shadowing" (30.3 VMPTRLD); with it the VMPTRLD would succeed.
	 */
	ctls2 = ctls2_allowed1();
	if (ctls2 & SECONDARY_EXEC_SHADOW_VMCS) {
		notes |= NOTE_SHADOW_VMCS;
	} else {
		*other_rev = vmcs_revision() | 0x80000000u;
		CHECK_EQ(vmptrld_fl(vmx->vmwrite_gpa), F_ZF);
		CHECK_EQ(insn_error(), ERR_VMPTRLD_BAD_REVISION);
	}
	CHECK_EQ(vmptrstz(), vmx->vmcs_gpa);
	CHECK_EQ(vmclear_fl(pa), F_ZF);
	CHECK_EQ(insn_error(), ERR_VMCLEAR_VMXON_PTR);
	CHECK_EQ(vmclear_fl(pa + 4), F_ZF);
	CHECK_EQ(insn_error(), ERR_VMCLEAR_BAD_ADDR);
	CHECK_EQ(vmclear_fl(1ull << 51), F_ZF);
	CHECK_EQ(insn_error(), ERR_VMCLEAR_BAD_ADDR);
	/* Unsupported encodings, and bits 63:32 of the encoding set */
	CHECK_EQ(vmread_fl(0xffffffffull, &v), F_ZF);
	CHECK_EQ(insn_error(), ERR_UNSUPPORTED_FIELD);
	CHECK_EQ(vmread_fl((1ull << 32) | GUEST_RIP, &v), F_ZF);
	CHECK_EQ(insn_error(), ERR_UNSUPPORTED_FIELD);
	/* A natural-width field has no "high" access type (24.11.2) */
	CHECK_EQ(vmwrite_fl(HOST_CR0 | 1, 0), F_ZF);
	CHECK_EQ(insn_error(), ERR_UNSUPPORTED_FIELD);
	/*
	 * Read-only fields: VMfailValid(13) unless IA32_VMX_MISC bit 29 says
	 * VMWRITE may write any field (30.3 VMWRITE), then the value sticks.
	 */
	if (rdmsr(MSR_IA32_VMX_MISC) & BIT_ULL(29)) {
		notes |= NOTE_VMWRITE_ANY;
		CHECK_EQ(vmwrite_fl(VM_EXIT_REASON, 0x12), 0);
		CHECK_EQ(vmread_fl(VM_EXIT_REASON, &v), 0);
		CHECK_EQ(v, 0x12);
		CHECK_EQ(vmwrite_fl(EXIT_QUALIFICATION, 0x1234), 0);
		CHECK_EQ(vmread_fl(EXIT_QUALIFICATION, &v), 0);
		CHECK_EQ(v, 0x1234);
	} else {
		CHECK_EQ(vmwrite_fl(VM_EXIT_REASON, 0), F_ZF);
		CHECK_EQ(insn_error(), ERR_VMWRITE_READ_ONLY);
		CHECK_EQ(vmwrite_fl(EXIT_QUALIFICATION, 0), F_ZF);
		CHECK_EQ(insn_error(), ERR_VMWRITE_READ_ONLY);
	}
	stage_done(ST_VMFAIL_VALID_ERRORS, notes);

	/* Widths and the high half of a 64-bit field (24.11.2) */
	CHECK_EQ(vmwrite_fl(TSC_OFFSET, 0x1122334455667788ull), 0);
	CHECK_EQ(vmread_fl(TSC_OFFSET_HIGH, &v), 0);
	CHECK_EQ(v, 0x11223344);
	CHECK_EQ(vmwrite_fl(TSC_OFFSET_HIGH, 0xaabbccdd), 0);
	CHECK_EQ(vmread_fl(TSC_OFFSET, &v), 0);
	CHECK_EQ(v, 0xaabbccdd55667788ull);
	CHECK_EQ(vmwrite_fl(GUEST_ES_SELECTOR, 0x12345678), 0);
	CHECK_EQ(vmread_fl(GUEST_ES_SELECTOR, &v), 0);
	CHECK_EQ(v, 0x5678);
	CHECK_EQ(vmwrite_fl(EXCEPTION_BITMAP, 0x1234567887654321ull), 0);
	CHECK_EQ(vmread_fl(EXCEPTION_BITMAP, &v), 0);
	CHECK_EQ(v, 0x87654321);
	/* Memory operands: 64 bits in 64-bit mode (30.3 VMREAD, VMWRITE) */
	m = 0xfeedfacecafef00dull;
	CHECK_EQ(vmwrite_mem_fl(GUEST_RIP, &m), 0);
	m = 0;
	CHECK_EQ(vmread_mem_fl(GUEST_RIP, &m), 0);
	CHECK_EQ(m, 0xfeedfacecafef00dull);
	stage_done(ST_FIELD_WIDTHS, 0);

	/*
	 * INVEPT #UDs without the 1-setting of "enable EPT", INVVPID without
	 * that of "enable VPID" (30.3 INVEPT, INVVPID).
	 */
	notes = 0;
	if (ctls2 & SECONDARY_EXEC_ENABLE_EPT)
		notes |= NOTE_EPT;
	else
		CHECK_EQ(kvm_asm_safe("invept %[d], %%rax", [d] "m"(inv_desc),
				      "a"(1)), UD_VECTOR);
	if (ctls2 & SECONDARY_EXEC_ENABLE_VPID)
		notes |= NOTE_VPID;
	else
		CHECK_EQ(kvm_asm_safe("invvpid %[d], %%rax", [d] "m"(inv_desc),
				      "a"(1)), UD_VECTOR);
	stage_done(ST_NOT_OFFERED_UD, notes);

	/*
	 * VMCLEAR of the current VMCS writes it back and leaves no current
	 * VMCS (30.3 VMCLEAR); loading it again gives the values written.
	 */
	CHECK_EQ(vmclear_fl(vmx->vmcs_gpa), 0);
	CHECK_EQ(vmptrstz(), -1ull);
	CHECK_EQ(vmread_fl(GUEST_RIP, &v), F_CF);
	CHECK_EQ(vmptrld_fl(vmx->vmcs_gpa), 0);
	CHECK_EQ(vmptrstz(), vmx->vmcs_gpa);
	CHECK_EQ(vmread_fl(GUEST_RIP, &v), 0);
	CHECK_EQ(v, 0xfeedfacecafef00dull);
	CHECK_EQ(vmread_fl(TSC_OFFSET, &v), 0);
	CHECK_EQ(v, 0xaabbccdd55667788ull);

	/*
	 * VMPTRLD of another VMCS writes the current one back first (30.3
	 * VMPTRLD): GUEST_RSP (a field L0 may keep in a shadow VMCS of its
	 * own) keeps each VMCS's value across switches between two of them.
	 */
	CHECK_EQ(vmwrite_fl(GUEST_RSP, 0x5a5a1234), 0);
	*other_rev = vmcs_revision();
	CHECK_EQ(vmclear_fl(vmx->vmwrite_gpa), 0);
	CHECK_EQ(vmptrld_fl(vmx->vmwrite_gpa), 0);
	CHECK_EQ(vmwrite_fl(GUEST_RSP, 0x77), 0);
	CHECK_EQ(vmptrld_fl(vmx->vmcs_gpa), 0);
	CHECK_EQ(vmread_fl(GUEST_RSP, &v), 0);
	CHECK_EQ(v, 0x5a5a1234);
	CHECK_EQ(vmptrld_fl(vmx->vmwrite_gpa), 0);
	CHECK_EQ(vmread_fl(GUEST_RSP, &v), 0);
	CHECK_EQ(v, 0x77);
	CHECK_EQ(vmclear_fl(vmx->vmwrite_gpa), 0);

	/* After VMXOFF, VMPTRLD #UDs again */
	__asm__ __volatile__("vmxoff");
	CHECK_EQ(kvm_asm_safe("vmptrld %[pa]", [pa] "m"(pa)), UD_VECTOR);
	stage_done(ST_VMCLEAR_CURRENT, 0);

	read_only_stages(vmx);
	GUEST_DONE();
}

static void gp_handler(struct ex_regs *regs)
{
	__GUEST_ASSERT(0, "unexpected #GP", 3, cur_stage, regs->rip,
		       regs->error_code);
}

static bool msr_write(struct kvm_vcpu *vcpu, uint32_t msr, uint64_t val,
		      bool accept, const char *what)
{
	bool done = _vcpu_set_msr(vcpu, msr, val) == 1;

	if (done == accept)
		return true;
	ksft_print_msg("capability_msr_writes: %s: MSR 0x%x <- 0x%lx was %s\n",
		       what, msr, val, done ? "accepted" : "refused");
	return false;
}

/*
 * Userspace writes of the capability MSRs before VMXON: no new allowed-1
 * bit, no cleared allowed-0 bit, no write of a non-TRUE control MSR, no new
 * VMCS revision; the value read can be written back.
 */
static bool check_msrs(struct kvm_vcpu *vcpu)
{
	uint64_t basic = vcpu_get_msr(vcpu, MSR_IA32_VMX_BASIC);
	uint64_t pin = vcpu_get_msr(vcpu, MSR_IA32_VMX_TRUE_PINBASED_CTLS);
	uint64_t proc = vcpu_get_msr(vcpu, MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
	uint32_t pin_not1 = ~(uint32_t)(pin >> 32);
	bool ok = true;

	ksft_print_msg("BASIC 0x%lx TRUE_PIN 0x%lx TRUE_PROC 0x%lx MISC 0x%lx\n",
		       basic, pin, proc,
		       vcpu_get_msr(vcpu, MSR_IA32_VMX_MISC));
	/* Bit 1 of the primary controls is reserved as 1 (A.3.2) */
	if (!pin_not1 || !(proc & BIT_ULL(1))) {
		ksft_print_msg("capability_msr_writes: unexpected controls\n");
		return false;
	}
	ok &= msr_write(vcpu, MSR_IA32_VMX_TRUE_PINBASED_CTLS,
			pin | (uint64_t)(pin_not1 & -pin_not1) << 32, false,
			"new allowed-1 bit");
	ok &= msr_write(vcpu, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
			proc & ~BIT_ULL(1), false, "cleared allowed-0 bit");
	ok &= msr_write(vcpu, MSR_IA32_VMX_PINBASED_CTLS,
			vcpu_get_msr(vcpu, MSR_IA32_VMX_PINBASED_CTLS), false,
			"non-TRUE control MSR");
	ok &= msr_write(vcpu, MSR_IA32_VMX_BASIC, basic + 1, false,
			"revision change");
	ok &= msr_write(vcpu, MSR_IA32_VMX_TRUE_PINBASED_CTLS, pin, true,
			"same value");
	return ok;
}

/* Room for the nested-state header and its two VMCS pages */
#define STATE_BUF	16384

/*
 * KVM_GET_NESTED_STATE with L1's VMCS current: vmcs12, in the format's
 * first VMCS page, holds the exit information L1 wrote.  The VMM changes
 * every such field and KVM_SET_NESTED_STATE must take the state: exit
 * information is no state a VM entry checks or loads (26).
 */
static bool read_only_restore(struct kvm_vcpu *vcpu)
{
	struct kvm_nested_state *state = calloc(1, STATE_BUF);
	struct vmcs12 *vmcs12 = (struct vmcs12 *)state->data.vmx[0].vmcs12;
	const struct nvmx_field *f;
	bool ok = true;
	uint64_t v;
	int i, r;

	TEST_ASSERT(state, "no memory");
	state->size = STATE_BUF;
	vcpu_nested_state_get(vcpu, state);
	if (state->format != KVM_STATE_NESTED_FORMAT_VMX ||
	    state->hdr.vmx.vmcs12_pa == -1ull ||
	    state->size < sizeof(*state) + sizeof(state->data.vmx[0].vmcs12)) {
		ksft_print_msg("%s: no vmcs12 in the nested state (size %u)\n",
			       stage_name[ST_READ_ONLY_WRITTEN], state->size);
		free(state);
		return false;
	}
	for (i = 0; i < ARRAY_SIZE(ro_fields); i++) {
		f = nvmx_vmcs12_field(ro_fields[i].field);
		v = nvmx_vmcs12_read(vmcs12, f);
		if (v != ro_fields[i].read) {
			ksft_print_msg("%s: nested state: %s is 0x%lx, L1 wrote 0x%lx\n",
				       stage_name[ST_READ_ONLY_WRITTEN], f->name, v,
				       ro_fields[i].read);
			ok = false;
		}
		nvmx_vmcs12_write(vmcs12, f, vmm_value(i));
	}
	r = __vcpu_nested_state_set(vcpu, state);
	if (r) {
		ksft_print_msg("%s: KVM_SET_NESTED_STATE refused the VMM's exit information: %d\n",
			       stage_name[ST_READ_ONLY_WRITTEN], errno);
		ok = false;
	}
	free(state);
	return ok;
}

/*
 * A stage that needs IA32_VMX_MISC bit 29 when it is not offered: a skip,
 * but for nvmx, which offers it on any processor (its design.rst).
 */
static void report_no_vmwrite_any(const char *name)
{
	if (nvmx_host_module_is_nvmx())
		ksft_test_result_fail("%s: nvmx does not offer IA32_VMX_MISC bit 29\n",
				      name);
	else
		ksft_test_result_skip("%s: IA32_VMX_MISC bit 29 not offered\n",
				      name);
}

static void report_stage(uint64_t stage, uint64_t notes)
{
	const char *name = stage_name[stage];

	if (notes & NOTE_NO_VMWRITE_ANY) {
		report_no_vmwrite_any(name);
		return;
	}

	if (notes & NOTE_SHADOW_VMCS)
		ksft_print_msg("%s: shadow-VMCS indicator case skipped: %s\n",
			       name, "VMCS shadowing offered (PROCBASED_CTLS2 bit 46)");
	if (notes & NOTE_VMWRITE_ANY)
		ksft_print_msg("%s: read-only fields written: %s\n",
			       name, "IA32_VMX_MISC bit 29 set");
	if (notes & NOTE_EPT)
		ksft_print_msg("%s: INVEPT case skipped: %s\n",
			       name, "EPT offered (PROCBASED_CTLS2 bit 33)");
	if (notes & NOTE_VPID)
		ksft_print_msg("%s: INVVPID case skipped: %s\n",
			       name, "VPID offered (PROCBASED_CTLS2 bit 37)");
	if ((notes & (NOTE_EPT | NOTE_VPID)) == (NOTE_EPT | NOTE_VPID))
		ksft_test_result_skip("%s: EPT and VPID offered\n", name);
	else
		ksft_test_result_pass("%s\n", name);
}

int main(int argc, char *argv[])
{
	vm_vaddr_t vmx_pages_gva;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t stage;
	uint64_t pin, misc;
	bool msrs_ok, stage_ok;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));

	ksft_print_header();
	ksft_set_plan(ST_NR_GUEST + 1);

	vm = vm_create_with_one_vcpu(&vcpu, (void *)l1_guest_code);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, GP_VECTOR, gp_handler);
	vcpu_alloc_vmx(vm, &vmx_pages_gva);
	vcpu_args_set(vcpu, 1, vmx_pages_gva);
	msrs_ok = check_msrs(vcpu);
	pin = vcpu_get_msr(vcpu, MSR_IA32_VMX_TRUE_PINBASED_CTLS);

	for (stage = 0; stage < ST_NR_GUEST; ) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "stage %s: exit reason %u", stage_name[stage],
			    vcpu->run->exit_reason);

		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			TEST_ASSERT(uc.args[1] == stage, "stage %lu, expected %lu",
				    uc.args[1], stage);
			/* In VMX operation now: capability writes refused */
			if (stage == ST_VMXON_CHECKS)
				msrs_ok &= msr_write(vcpu, MSR_IA32_VMX_TRUE_PINBASED_CTLS, pin,
						     false, "after VMXON");
			stage_ok = true;
			if (stage == ST_READ_ONLY_WRITTEN &&
			    !(uc.args[2] & NOTE_NO_VMWRITE_ANY))
				stage_ok = read_only_restore(vcpu);
			/* Out of VMX operation: the VMM takes bit 29 away (A.6) */
			if (stage == ST_READ_ONLY_RESTORED &&
			    !(uc.args[2] & NOTE_NO_VMWRITE_ANY)) {
				misc = vcpu_get_msr(vcpu, MSR_IA32_VMX_MISC);
				stage_ok = msr_write(vcpu, MSR_IA32_VMX_MISC,
						     misc & ~BIT_ULL(29), true,
						     "IA32_VMX_MISC bit 29 cleared");
			}
			if (stage_ok)
				report_stage(stage, uc.args[2]);
			else
				ksft_test_result_fail("%s\n", stage_name[stage]);
			stage++;
			break;
		case UCALL_ABORT:
			ksft_print_msg("%s: %s at %s:%ld: stage %lu, values 0x%lx 0x%lx\n",
				       stage_name[stage], (const char *)uc.args[0],
				       (const char *)uc.args[1], uc.args[2],
				       GUEST_ASSERT_ARG(uc, 0),
				       GUEST_ASSERT_ARG(uc, 1),
				       GUEST_ASSERT_ARG(uc, 2));
			ksft_test_result_fail("%s\n", stage_name[stage]);
			ksft_test_result(msrs_ok, "capability_msr_writes\n");
			ksft_exit_fail_msg("L1 stopped in stage %s\n",
					   stage_name[stage]);
			break;
		default:
			TEST_FAIL("stage %s: unexpected ucall %lu",
				  stage_name[stage], uc.cmd);
		}
	}

	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE, "no UCALL_DONE");
	kvm_vm_free(vm);

	ksft_test_result(msrs_ok, "capability_msr_writes\n");
	ksft_finished();
	return 0;
}
