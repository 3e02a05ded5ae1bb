// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_load_host_state_test: what a VM exit from L2 loads into L1.
 *
 * L1 fills vmcs12's host-state area with distinctive but valid values: CR0,
 * CR3, CR4, EFER and PAT (with and without the "load IA32_EFER/PAT" exit
 * controls), the segment selectors, FS/GS/TR/GDTR/IDTR bases, the SYSENTER
 * MSRs, RSP and RIP, and a VM-exit MSR-load list.  HOST_RIP is a stub that,
 * before anything else runs, records L1's state with real instructions
 * (MOV from CRn/DR7/Sreg, RDMSR, PUSHF, STR, SLDT, SGDT, SIDT), then stops
 * at the host so that the hidden parts of the segment registers (base,
 * limit, attributes, which no instruction reads in 64-bit mode) are read
 * with KVM_GET_SREGS, and only then restores L1's own state.  Both are
 * checked against Intel SDM Vol. 3C 27.5 "Loading Host State" (27.5.1
 * control and debug registers and MSRs, 27.5.2 segment and descriptor-table
 * registers, 27.5.3 RIP/RSP/RFLAGS) and 27.6 (the MSR-load list comes last).
 *
 * PAE: L1 runs in 64-bit mode, which needs "host address-space size" = 1
 * (26.2.4), so a VM exit never loads PDPTEs for L1.  PDPTE loading is
 * exercised on L2's side instead: L2 runs in 32-bit protected mode with PAE
 * paging on page tables L1 provides.  Without EPT, VM entry loads the
 * PDPTEs from the PDPT at GUEST_CR3 and fails with exit qualification 2 if
 * one has reserved bits set (26.3.1.6, 26.3.2.4, 26.7); with EPT it loads
 * them from the GUEST_PDPTRn fields, and the exit saves the ones in use
 * (27.3.4).  The exit from 32-bit L2 also loads L1's IA-32e mode from the
 * host-state area (EFER.LMA/LME from "host address-space size", CS.L).
 *
 * Section numbers are those of the SDM editions that number the VMX chapters
 * 24 (VMCS) to 27 (VM exits); newer editions add one to the chapter.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define EXIT_REASON_INVALID_STATE_NR	33
#define NVMX_EXIT_FAILED_ENTRY		BIT(31)
#define ENTRY_FAIL_PDPTE		2	/* 26.7: exit qualification */

#define NVMX_MSR_KERNEL_GS_BASE		0xc0000102
#define NVMX_MSR_TSC_AUX		0xc0000103
#define NVMX_EFER_LME			BIT_ULL(8)
#define NVMX_EFER_LMA			BIT_ULL(10)

/* Host-state values: each differs from L1's own and from the others. */
#define HOST_SEL_CS		0x30
#define HOST_SEL_SS		0x38
#define HOST_SEL_DS		0x40
#define HOST_SEL_ES		0x48
#define HOST_SEL_FS		0x50
#define HOST_SEL_GS		0x58
#define HOST_SEL_TR		0x60
#define HOST_FS_BASE_VAL	0xffff8000f5000000ull
#define HOST_GS_BASE_VAL	0x00007fff65000000ull
#define HOST_TR_BASE_VAL	0xffffc9007e000000ull
#define HOST_SYSENTER_CS_VAL	0x5a6b
#define HOST_SYSENTER_ESP_VAL	0xffff8000cafe0000ull
#define HOST_SYSENTER_EIP_VAL	0x00007fffbeef0000ull
#define HOST_PAT_VAL		0x0004050600070106ull	/* PA0 stays WB */

/* What L2 leaves behind, all of which the exit must replace. */
#define L2_RFLAGS		0x8d7	/* OF SF ZF AF PF CF */
#define L2_DR7			0x00000000f0f00700ull	/* LE GE, no enables */
#define L2_PAT			0x0000000700060406ull
#define L2_LDT_SEL		0x68

/* The MSR-load list's values (27.6). */
#define LIST_SYSENTER_CS	0x77
#define LIST_KERNEL_GS_BASE	0xffff800077770000ull
#define LIST_TSC_AUX		0x1234

/* 32-bit PAE L2: linear 0x40000000 shows MARKER_A or MARKER_B (PDPTE 1). */
#define PAE_MARKER_VA		0x40000000
#define MARKER_A		0xaaaa5555
#define MARKER_B		0xbbbb6666
#define L2_CS32_SEL		0x78

#define GPR_RBX			3
#define GPR_RCX			1

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* known stock deviations fail instead of XFAIL */
	u64 pml4_copy_gpa;	/* a copy of L1's PML4, for HOST_CR3 */
	u64 exit_msrs_gpa;	/* nvmx_exit_msrs */
	u64 pdpt_gpa;		/* PAE PDPT L2 uses: PDPTE 1 -> marker A */
	u64 bad_pdpt_gpa;	/* the same with a reserved bit in PDPTE 3 */
	u64 pdpte[4];		/* the PDPTEs in that PDPT */
	u64 pdpte_b;		/* a PDPTE 1 that maps marker B instead */
	bool have_ept;		/* EPT tables for L2 are set up */
};

struct nvmx_env nvmx_env;

/* nvmx_l2_run_asm is below: VM exits go to nvmx_host_entry. */
#define NVMX_OWN_HOST_RIP
#include "nvmx_selftest.h"

/*
 * The L1 state the checks expect after the exit, filled in by L1 before it
 * runs L2; the host reads it to judge KVM_GET_SREGS.
 */
struct nvmx_expect {
	u64 rsp, cr0, cr3, cr4, efer, pat;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 fs_base, gs_base, tr_base, gdtr_base, idtr_base;
	u64 kernel_gs_base, tsc_aux;
	u16 cs, ss, ds, es, fs, gs, tr;
	bool check_kernel_gs_base, check_tsc_aux;
};

struct nvmx_expect nvmx_expect;

/*
 * L1's registers as the host-state stub records them (nvmx_cap) and as L1
 * had them before VMLAUNCH, to be put back (nvmx_res).  The asm below
 * addresses the fields by these offsets.
 */
#define OFF_RSP		0
#define OFF_RFLAGS	8
#define OFF_CR0		16
#define OFF_CR3		24
#define OFF_CR4		32
#define OFF_DR7		40
#define OFF_EFER	48
#define OFF_PAT		56
#define OFF_DEBUGCTL	64
#define OFF_SYSENTER_CS	72
#define OFF_SYSENTER_ESP 80
#define OFF_SYSENTER_EIP 88
#define OFF_FS_BASE	96
#define OFF_GS_BASE	104
#define OFF_KGS_BASE	112
#define OFF_TSC_AUX	120
#define OFF_CS		128
#define OFF_SS		136
#define OFF_DS		144
#define OFF_ES		152
#define OFF_FS		160
#define OFF_GS		168
#define OFF_TR		176
#define OFF_LDTR	184
#define OFF_GDTR	192
#define OFF_IDTR	208

struct nvmx_l1_regs {
	u64 rsp, rflags, cr0, cr3, cr4, dr7, efer, pat, debugctl;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 fs_base, gs_base, kernel_gs_base, tsc_aux;
	u64 cs, ss, ds, es, fs, gs, tr, ldtr;
	struct nvmx_dtr gdtr;
	u8 pad1[6];
	struct nvmx_dtr idtr;
	u8 pad2[6];
};

static_assert(offsetof(struct nvmx_l1_regs, dr7) == OFF_DR7, "layout");
static_assert(offsetof(struct nvmx_l1_regs, tsc_aux) == OFF_TSC_AUX, "layout");
static_assert(offsetof(struct nvmx_l1_regs, ldtr) == OFF_LDTR, "layout");
static_assert(offsetof(struct nvmx_l1_regs, gdtr) == OFF_GDTR, "layout");
static_assert(offsetof(struct nvmx_l1_regs, idtr) == OFF_IDTR, "layout");

struct nvmx_l1_regs nvmx_cap;
struct nvmx_l1_regs nvmx_res;
u32 nvmx_have_tsc_aux;

/* The ucall the stub makes so that the host can read L1's sregs. */
struct ucall nvmx_snap_ucall;

/*
 * nvmx_l2_run_asm (EDI = launch): load L2's GPRs from nvmx_gpr_in and
 * VMLAUNCH (launch != 0) or VMRESUME.  HOST_RSP and HOST_RIP are the
 * caller's: the VM exit (or failed VM entry, 26.7) continues at
 * nvmx_host_entry.  EAX = 0 after a VM exit, 1 if the instruction failed.
 * Preserves RBX, RBP, R12-R15 like a C function.
 */
asm(".pushsection .text\n"
	"nvmx_l2_run_asm:\n\t"
	NVMX_ASM_L2_RUN_PROLOGUE
	NVMX_ASM_L2_ENTER
	"jmp nvmx_l2_run_done\n"
	"nvmx_l2_run_epilogue:\n\t"
	"xor %eax, %eax\n"
	"nvmx_l2_run_done:\n\t"
	NVMX_ASM_L2_RUN_EPILOGUE
	".popsection\n");

/*
 * HOST_RIP.  First record L2's GPRs and L1's state exactly as the exit left
 * it, using no memory but nvmx_cap and the HOST_RSP stack (for PUSHF), then
 * let the host read the sregs, then put back L1's own state from nvmx_res:
 * control registers, EFER/PAT, GDTR/IDTR, data segments, FS/GS bases,
 * SYSENTER MSRs, KERNEL_GS_BASE, TSC_AUX, TR (its descriptor is busy, so
 * clear that first), RSP and finally CS with a far return into the
 * epilogue of nvmx_l2_run_asm.
 */
asm(".pushsection .text\n"
	".macro nvmx_rdmsr msr, off\n\t"
	"mov $\\msr, %ecx\n\t"
	"rdmsr\n\t"
	"shl $32, %rdx\n\t"
	"or %rdx, %rax\n\t"
	"mov %rax, nvmx_cap+\\off(%rip)\n"
	".endm\n"
	".macro nvmx_wrmsr msr, off\n\t"
	"mov $\\msr, %ecx\n\t"
	"mov nvmx_res+\\off(%rip), %rax\n\t"
	"mov %rax, %rdx\n\t"
	"shr $32, %rdx\n\t"
	"wrmsr\n"
	".endm\n"
	"nvmx_host_entry:\n\t"
	NVMX_ASM_L2_SAVE_GPRS
	"mov %rsp, nvmx_cap+" NVMX_XSTR(OFF_RSP) "(%rip)\n\t"
	"pushfq\n\t"
	"popq nvmx_cap+" NVMX_XSTR(OFF_RFLAGS) "(%rip)\n\t"
	"mov %cr0, %rax\n\t"
	"mov %rax, nvmx_cap+" NVMX_XSTR(OFF_CR0) "(%rip)\n\t"
	"mov %cr3, %rax\n\t"
	"mov %rax, nvmx_cap+" NVMX_XSTR(OFF_CR3) "(%rip)\n\t"
	"mov %cr4, %rax\n\t"
	"mov %rax, nvmx_cap+" NVMX_XSTR(OFF_CR4) "(%rip)\n\t"
	"mov %dr7, %rax\n\t"
	"mov %rax, nvmx_cap+" NVMX_XSTR(OFF_DR7) "(%rip)\n\t"
	"nvmx_rdmsr 0xc0000080, " NVMX_XSTR(OFF_EFER) "\n\t"
	"nvmx_rdmsr 0x277, " NVMX_XSTR(OFF_PAT) "\n\t"
	"nvmx_rdmsr 0x1d9, " NVMX_XSTR(OFF_DEBUGCTL) "\n\t"
	"nvmx_rdmsr 0x174, " NVMX_XSTR(OFF_SYSENTER_CS) "\n\t"
	"nvmx_rdmsr 0x175, " NVMX_XSTR(OFF_SYSENTER_ESP) "\n\t"
	"nvmx_rdmsr 0x176, " NVMX_XSTR(OFF_SYSENTER_EIP) "\n\t"
	"nvmx_rdmsr 0xc0000100, " NVMX_XSTR(OFF_FS_BASE) "\n\t"
	"nvmx_rdmsr 0xc0000101, " NVMX_XSTR(OFF_GS_BASE) "\n\t"
	"nvmx_rdmsr 0xc0000102, " NVMX_XSTR(OFF_KGS_BASE) "\n\t"
	"cmpl $0, nvmx_have_tsc_aux(%rip)\n\t"
	"je 1f\n\t"
	"nvmx_rdmsr 0xc0000103, " NVMX_XSTR(OFF_TSC_AUX) "\n"
	"1:\tmov %cs, nvmx_cap+" NVMX_XSTR(OFF_CS) "(%rip)\n\t"
	"mov %ss, nvmx_cap+" NVMX_XSTR(OFF_SS) "(%rip)\n\t"
	"mov %ds, nvmx_cap+" NVMX_XSTR(OFF_DS) "(%rip)\n\t"
	"mov %es, nvmx_cap+" NVMX_XSTR(OFF_ES) "(%rip)\n\t"
	"mov %fs, nvmx_cap+" NVMX_XSTR(OFF_FS) "(%rip)\n\t"
	"mov %gs, nvmx_cap+" NVMX_XSTR(OFF_GS) "(%rip)\n\t"
	"str nvmx_cap+" NVMX_XSTR(OFF_TR) "(%rip)\n\t"
	"sldt nvmx_cap+" NVMX_XSTR(OFF_LDTR) "(%rip)\n\t"
	"sgdt nvmx_cap+" NVMX_XSTR(OFF_GDTR) "(%rip)\n\t"
	"sidt nvmx_cap+" NVMX_XSTR(OFF_IDTR) "(%rip)\n\t"
	/* A ucall by hand: the host reads the sregs now. */
	"lea nvmx_snap_ucall(%rip), %rdi\n\t"
	"mov $0x1000, %edx\n\t"
	"in %dx, %al\n\t"
	"mov nvmx_res+" NVMX_XSTR(OFF_CR0) "(%rip), %rax\n\t"
	"mov %rax, %cr0\n\t"
	"mov nvmx_res+" NVMX_XSTR(OFF_CR4) "(%rip), %rax\n\t"
	"mov %rax, %cr4\n\t"
	"mov nvmx_res+" NVMX_XSTR(OFF_CR3) "(%rip), %rax\n\t"
	"mov %rax, %cr3\n\t"
	"nvmx_wrmsr 0xc0000080, " NVMX_XSTR(OFF_EFER) "\n\t"
	"nvmx_wrmsr 0x277, " NVMX_XSTR(OFF_PAT) "\n\t"
	"lgdt nvmx_res+" NVMX_XSTR(OFF_GDTR) "(%rip)\n\t"
	"lidt nvmx_res+" NVMX_XSTR(OFF_IDTR) "(%rip)\n\t"
	"mov nvmx_res+" NVMX_XSTR(OFF_SS) "(%rip), %ss\n\t"
	"mov nvmx_res+" NVMX_XSTR(OFF_DS) "(%rip), %ds\n\t"
	"mov nvmx_res+" NVMX_XSTR(OFF_ES) "(%rip), %es\n\t"
	"mov nvmx_res+" NVMX_XSTR(OFF_FS) "(%rip), %fs\n\t"
	"mov nvmx_res+" NVMX_XSTR(OFF_GS) "(%rip), %gs\n\t"
	"nvmx_wrmsr 0xc0000100, " NVMX_XSTR(OFF_FS_BASE) "\n\t"
	"nvmx_wrmsr 0xc0000101, " NVMX_XSTR(OFF_GS_BASE) "\n\t"
	"nvmx_wrmsr 0xc0000102, " NVMX_XSTR(OFF_KGS_BASE) "\n\t"
	"nvmx_wrmsr 0x174, " NVMX_XSTR(OFF_SYSENTER_CS) "\n\t"
	"nvmx_wrmsr 0x175, " NVMX_XSTR(OFF_SYSENTER_ESP) "\n\t"
	"nvmx_wrmsr 0x176, " NVMX_XSTR(OFF_SYSENTER_EIP) "\n\t"
	"cmpl $0, nvmx_have_tsc_aux(%rip)\n\t"
	"je 1f\n\t"
	"nvmx_wrmsr 0xc0000103, " NVMX_XSTR(OFF_TSC_AUX) "\n"
	"1:\tmov nvmx_res+" NVMX_XSTR(OFF_GDTR) "+2(%rip), %rax\n\t"
	"movzwl nvmx_res+" NVMX_XSTR(OFF_TR) "(%rip), %ecx\n\t"
	"andb $0xfd, 5(%rax,%rcx)\n\t"
	"ltr %cx\n\t"
	"mov nvmx_l1_rsp(%rip), %rsp\n\t"
	"pushq nvmx_res+" NVMX_XSTR(OFF_CS) "(%rip)\n\t"
	"lea nvmx_l2_run_epilogue(%rip), %rax\n\t"
	"push %rax\n\t"
	"lretq\n\t"
	".popsection\n");

/* L2 bodies (64-bit): DR7 changed, then as named, then VMCALL. */
asm(".pushsection .text\n"
	"l2_plain:\n\t"
	"mov $" NVMX_XSTR(L2_DR7) ", %eax\n\t"
	"mov %rax, %dr7\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_efer:\n\t"
	"mov $0xc0000080, %ecx\n\t"
	"rdmsr\n\t"
	"or $1, %eax\n\t"
	"and $~0x800, %eax\n\t"
	"wrmsr\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_pat:\n\t"
	"mov $0x277, %ecx\n\t"
	"mov $0x00060406, %eax\n\t"
	"mov $0x00000007, %edx\n\t"
	"wrmsr\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/*
 * 32-bit L2 under PAE paging: read the marker through PDPTE 1 into EBX,
 * reload CR3 (which reloads the PDPTEs from memory, 4.4.1), read it again
 * into ECX, exit.
 */
asm(".pushsection .text\n"
	".code32\n"
	"l2_pae_begin:\n\t"
	"mov " NVMX_XSTR(PAE_MARKER_VA) ", %ebx\n\t"
	"mov %cr3, %eax\n\t"
	"mov %eax, %cr3\n\t"
	"mov " NVMX_XSTR(PAE_MARKER_VA) ", %ecx\n"
	"l2_pae_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_pae_end:\n\t"
	".code64\n\t"
	".popsection\n");

static u64 host_gdt[512] __aligned(4096);	/* HOST_GDTR_BASE */
static u64 host_idt[512] __aligned(4096);	/* HOST_IDTR_BASE */
static u64 host_stack[512] __aligned(16);	/* HOST_RSP */
static struct vmx_msr_entry nvmx_exit_msrs[3];	/* VM-exit MSR-load list */

/* ---------------------------------------------------------------------- */
/* Cases.                                                                   */

static void save_l1_state(void)
{
	struct desc_ptr gdt = get_gdt(), idt = get_idt();

	memset(&nvmx_res, 0, sizeof(nvmx_res));
	nvmx_res.cr0 = get_cr0();
	nvmx_res.cr3 = get_cr3();
	nvmx_res.cr4 = get_cr4();
	nvmx_res.efer = rdmsr(NVMX_MSR_EFER);
	nvmx_res.pat = rdmsr(NVMX_MSR_PAT);
	nvmx_res.sysenter_cs = rdmsr(NVMX_MSR_SYSENTER_CS);
	nvmx_res.sysenter_esp = rdmsr(NVMX_MSR_SYSENTER_ESP);
	nvmx_res.sysenter_eip = rdmsr(NVMX_MSR_SYSENTER_EIP);
	nvmx_res.fs_base = rdmsr(NVMX_MSR_FS_BASE);
	nvmx_res.gs_base = rdmsr(NVMX_MSR_GS_BASE);
	nvmx_res.kernel_gs_base = rdmsr(NVMX_MSR_KERNEL_GS_BASE);
	if (nvmx_have_tsc_aux)
		nvmx_res.tsc_aux = rdmsr(NVMX_MSR_TSC_AUX);
	nvmx_res.cs = get_cs();
	nvmx_res.ss = get_ss();
	nvmx_res.ds = get_ds();
	nvmx_res.es = get_es();
	nvmx_res.fs = get_fs();
	nvmx_res.gs = get_gs();
	nvmx_res.tr = get_tr();
	nvmx_res.gdtr.limit = gdt.size;
	nvmx_res.gdtr.base = gdt.address;
	nvmx_res.idtr.limit = idt.size;
	nvmx_res.idtr.base = idt.address;
}

/*
 * Fill the whole host-state area with values unlike L1's own, with "load
 * IA32_EFER" and "load IA32_PAT", and record what L1 must find after the
 * exit (27.5).  CR0 flips the bits 27.5.1 loads (MP, EM, TS, WP, AM); CR4
 * flips the ones L1's CPU allows; CR3 is a copy of L1's PML4 with PWT and
 * PCD set; EFER drops NXE (L1's page tables use no XD bit) and sets SCE.
 */
static bool setup_host_state(void)
{
	u64 cr0_flip = X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_WP |
		       X86_CR0_AM;
	u64 cr4_flip = (X86_CR4_PGE | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PCE |
			X86_CR4_OSXMMEXCPT) & rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	struct nvmx_expect *e = &nvmx_expect;

	if (!ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS,
			VM_EXIT_LOAD_IA32_EFER | VM_EXIT_LOAD_IA32_PAT, 0)) {
		skip("VM-exit controls load IA32_EFER/IA32_PAT not allowed 1");
		return false;
	}
	save_l1_state();
	memset(e, 0, sizeof(*e));
	e->cr0 = nvmx_res.cr0 ^ cr0_flip;
	e->cr3 = nvmx_env.pml4_copy_gpa | 0x18;
	e->cr4 = nvmx_res.cr4 ^ cr4_flip;
	e->efer = (nvmx_res.efer | NVMX_EFER_SCE) & ~NVMX_EFER_NXE;
	e->pat = HOST_PAT_VAL;
	e->sysenter_cs = HOST_SYSENTER_CS_VAL;
	e->sysenter_esp = HOST_SYSENTER_ESP_VAL;
	e->sysenter_eip = HOST_SYSENTER_EIP_VAL;
	e->fs_base = HOST_FS_BASE_VAL;
	e->gs_base = HOST_GS_BASE_VAL;
	e->tr_base = HOST_TR_BASE_VAL;
	e->gdtr_base = (u64)host_gdt;
	e->idtr_base = (u64)host_idt;
	e->rsp = (u64)&host_stack[ARRAY_SIZE(host_stack) - 5];
	e->cs = HOST_SEL_CS;
	e->ss = HOST_SEL_SS;
	e->ds = HOST_SEL_DS;
	e->es = HOST_SEL_ES;
	e->fs = HOST_SEL_FS;
	e->gs = HOST_SEL_GS;
	e->tr = HOST_SEL_TR;

	vmwrite(HOST_CR0, e->cr0);
	vmwrite(HOST_CR3, e->cr3);
	vmwrite(HOST_CR4, e->cr4);
	vmwrite(HOST_IA32_EFER, e->efer);
	vmwrite(HOST_IA32_PAT, e->pat);
	vmwrite(HOST_IA32_SYSENTER_CS, e->sysenter_cs);
	vmwrite(HOST_IA32_SYSENTER_ESP, e->sysenter_esp);
	vmwrite(HOST_IA32_SYSENTER_EIP, e->sysenter_eip);
	vmwrite(HOST_FS_BASE, e->fs_base);
	vmwrite(HOST_GS_BASE, e->gs_base);
	vmwrite(HOST_TR_BASE, e->tr_base);
	vmwrite(HOST_GDTR_BASE, e->gdtr_base);
	vmwrite(HOST_IDTR_BASE, e->idtr_base);
	vmwrite(HOST_CS_SELECTOR, e->cs);
	vmwrite(HOST_SS_SELECTOR, e->ss);
	vmwrite(HOST_DS_SELECTOR, e->ds);
	vmwrite(HOST_ES_SELECTOR, e->es);
	vmwrite(HOST_FS_SELECTOR, e->fs);
	vmwrite(HOST_GS_SELECTOR, e->gs);
	vmwrite(HOST_TR_SELECTOR, e->tr);
	vmwrite(HOST_RSP, e->rsp);
	vmwrite(HOST_RIP, ASM_LABEL(nvmx_host_entry));

	/* L2 leaves flags and an LDT the exit must not hand to L1. */
	vmwrite(GUEST_RFLAGS, L2_RFLAGS);
	vmwrite(GUEST_LDTR_SELECTOR, L2_LDT_SEL);
	vmwrite(GUEST_LDTR_BASE, 0xffffc90012340000ull);
	vmwrite(GUEST_LDTR_LIMIT, 0xfff);
	vmwrite(GUEST_LDTR_AR_BYTES, 0x82);

	memset(&nvmx_cap, 0, sizeof(nvmx_cap));
	memset(&nvmx_snap_ucall, 0, sizeof(nvmx_snap_ucall));
	nvmx_snap_ucall.cmd = UCALL_SYNC;
	nvmx_snap_ucall.args[0] = NVMX_MSG_SNAPSHOT;
	nvmx_snap_ucall.args[1] = cur_case;
	return true;
}

/* L1's state as the stub recorded it, against nvmx_expect. */
static void check_l1_state(void)
{
	report("L1 rsp after the exit", nvmx_expect.rsp, nvmx_cap.rsp,
	       "27.5.3");
	report("L1 rflags after the exit", X86_EFLAGS_FIXED, nvmx_cap.rflags,
	       "27.5.3");
	report_known("L1 cr0 after the exit", nvmx_expect.cr0, nvmx_cap.cr0,
		     vmreadz(HOST_CR0), "27.5.1 (CD, NW, ET not modified)",
		     "stock KVM loads CR0.CD, NW and ET from HOST_CR0");
	report("L1 cr3 after the exit", nvmx_expect.cr3, nvmx_cap.cr3,
	       "27.5.1");
	report("L1 cr4 after the exit", nvmx_expect.cr4, nvmx_cap.cr4,
	       "27.5.1");
	report("L1 dr7 after the exit", 0x400, nvmx_cap.dr7, "27.5.1");
	report("L1 efer after the exit", nvmx_expect.efer, nvmx_cap.efer,
	       "27.5.1");
	report("L1 pat after the exit", nvmx_expect.pat, nvmx_cap.pat,
	       "27.5.1");
	report("L1 debugctl after the exit", 0, nvmx_cap.debugctl, "27.5.1");
	report("L1 sysenter_cs after the exit",
	       nvmx_expect.sysenter_cs, nvmx_cap.sysenter_cs, "27.5.1, 27.6");
	report("L1 sysenter_esp after the exit",
	       nvmx_expect.sysenter_esp, nvmx_cap.sysenter_esp, "27.5.1");
	report("L1 sysenter_eip after the exit",
	       nvmx_expect.sysenter_eip, nvmx_cap.sysenter_eip, "27.5.1");
	report("L1 fs_base after the exit", nvmx_expect.fs_base, nvmx_cap.fs_base,
	       "27.5.1, 27.5.2");
	report("L1 gs_base after the exit", nvmx_expect.gs_base, nvmx_cap.gs_base,
	       "27.5.1, 27.5.2");
	if (nvmx_expect.check_kernel_gs_base)
		report("L1 kernel_gs_base after the exit",
		       nvmx_expect.kernel_gs_base, nvmx_cap.kernel_gs_base,
		       "27.6");
	if (nvmx_expect.check_tsc_aux)
		report("L1 tsc_aux after the exit", nvmx_expect.tsc_aux,
		       nvmx_cap.tsc_aux, "27.6");
	report("L1 cs after the exit", nvmx_expect.cs, nvmx_cap.cs,
	       "27.5.2");
	report("L1 ss after the exit", nvmx_expect.ss, nvmx_cap.ss,
	       "27.5.2");
	report("L1 ds after the exit", nvmx_expect.ds, nvmx_cap.ds,
	       "27.5.2");
	report("L1 es after the exit", nvmx_expect.es, nvmx_cap.es,
	       "27.5.2");
	report("L1 fs after the exit", nvmx_expect.fs, nvmx_cap.fs,
	       "27.5.2");
	report("L1 gs after the exit", nvmx_expect.gs, nvmx_cap.gs,
	       "27.5.2");
	report("L1 tr after the exit", nvmx_expect.tr, nvmx_cap.tr,
	       "27.5.2");
	report("L1 ldtr after the exit (SLDT)", 0, nvmx_cap.ldtr, "27.5.2");
	report("L1 gdtr.base after the exit", nvmx_expect.gdtr_base,
	       nvmx_cap.gdtr.base, "27.5.2");
	report("L1 gdtr.limit after the exit", 0xffff, nvmx_cap.gdtr.limit,
	       "27.5.2");
	report("L1 idtr.base after the exit", nvmx_expect.idtr_base,
	       nvmx_cap.idtr.base, "27.5.2");
	report("L1 idtr.limit after the exit", 0xffff, nvmx_cap.idtr.limit,
	       "27.5.2");
}

static bool run_l2(u64 rip, u32 reason)
{
	u32 got;

	l2_setup(rip);
	if (!l2_launch())
		return false;
	got = vmreadz(VM_EXIT_REASON);
	report("VM_EXIT_REASON", reason, got, "27.2.1");
	check_l1_state();
	return got == reason;
}

/* 27.5: every host-state field, with "load IA32_EFER" and "load IA32_PAT". */
static void case_host_state(void)
{
	if (setup_host_state())
		run_l2(ASM_LABEL(l2_plain), EXIT_REASON_VMCALL_NR);
}

/*
 * 27.5.1: CR0.CD, NW and ET keep their values whatever HOST_CR0 says
 * (26.2.2 lets HOST_CR0 have them: they are not fixed in VMX operation).
 */
static void case_host_cr0_kept_bits(void)
{
	if (!setup_host_state())
		return;
	vmwrite(HOST_CR0, (nvmx_expect.cr0 | X86_CR0_CD | X86_CR0_NW) &
		~X86_CR0_ET);
	run_l2(ASM_LABEL(l2_plain), EXIT_REASON_VMCALL_NR);
}

/*
 * 27.5.1: without "load IA32_EFER", LMA and LME follow "host address-space
 * size" and the other bits stay as L2 left them (SCE set, NXE clear).  The
 * HOST_IA32_EFER field keeps L1's own value, which must not be loaded.
 */
static void case_efer_not_loaded(void)
{
	if (!setup_host_state())
		return;
	if (!ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS, 0,
			VM_EXIT_LOAD_IA32_EFER)) {
		skip("VM-exit control load IA32_EFER not allowed 0");
		return;
	}
	vmwrite(HOST_IA32_EFER, nvmx_res.efer);
	nvmx_expect.efer = (nvmx_res.efer | NVMX_EFER_SCE) & ~NVMX_EFER_NXE;
	run_l2(ASM_LABEL(l2_efer), EXIT_REASON_VMCALL_NR);
}

/* 27.5.1: without "load IA32_PAT", L1 gets the PAT L2 left. */
static void case_pat_not_loaded(void)
{
	if (!setup_host_state())
		return;
	if (!ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS, 0,
			VM_EXIT_LOAD_IA32_PAT)) {
		skip("VM-exit control load IA32_PAT not allowed 0");
		return;
	}
	nvmx_expect.pat = L2_PAT;
	run_l2(ASM_LABEL(l2_pat), EXIT_REASON_VMCALL_NR);
}

/*
 * 27.6: the VM-exit MSR-load list is processed after the host state, so
 * its IA32_SYSENTER_CS overrides HOST_IA32_SYSENTER_CS (27.5.1).
 */
static void case_exit_msr_load_list(void)
{
	int n = 0;

	if (!setup_host_state())
		return;
	nvmx_exit_msrs[n].index = NVMX_MSR_SYSENTER_CS;
	nvmx_exit_msrs[n++].value = LIST_SYSENTER_CS;
	nvmx_exit_msrs[n].index = NVMX_MSR_KERNEL_GS_BASE;
	nvmx_exit_msrs[n++].value = LIST_KERNEL_GS_BASE;
	if (nvmx_have_tsc_aux) {
		nvmx_exit_msrs[n].index = NVMX_MSR_TSC_AUX;
		nvmx_exit_msrs[n++].value = LIST_TSC_AUX;
		nvmx_expect.tsc_aux = LIST_TSC_AUX;
		nvmx_expect.check_tsc_aux = true;
	}
	vmwrite(VM_EXIT_MSR_LOAD_ADDR, nvmx_env.exit_msrs_gpa);
	vmwrite(VM_EXIT_MSR_LOAD_COUNT, n);
	nvmx_expect.sysenter_cs = LIST_SYSENTER_CS;
	nvmx_expect.kernel_gs_base = LIST_KERNEL_GS_BASE;
	nvmx_expect.check_kernel_gs_base = true;
	run_l2(ASM_LABEL(l2_plain), EXIT_REASON_VMCALL_NR);
}

/*
 * L2 in 32-bit protected mode with PAE paging: CS a 32-bit code segment,
 * "IA-32e mode guest" 0, CR3 the PDPT L1 built.  No "load IA32_EFER" at
 * exit, so L1's EFER.LMA/LME come back from "host address-space size"
 * (27.5.1); L2 runs with them clear (26.3.2.1), which "save IA32_EFER"
 * records.  Returns false if the CPU L1 sees lacks a control.
 */
static bool setup_pae_l2(bool ept, u64 cr3)
{
	if (!setup_host_state())
		return false;
	if (!ctl_update(VM_ENTRY_CONTROLS, MSR_IA32_VMX_ENTRY_CTLS, 0,
			VM_ENTRY_IA32E_MODE) ||
	    !ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS,
			VM_EXIT_SAVE_IA32_EFER, VM_EXIT_LOAD_IA32_EFER)) {
		skip("IA-32e mode guest = 0 or save/load IA32_EFER not allowed");
		return false;
	}
	if (ept && (!nvmx_env.have_ept ||
		    !ctl_update(SECONDARY_VM_EXEC_CONTROL,
				MSR_IA32_VMX_PROCBASED_CTLS2,
				SECONDARY_EXEC_ENABLE_EPT, 0))) {
		skip("no EPT for L1");
		return false;
	}
	nvmx_expect.efer = nvmx_res.efer;
	vmwrite(GUEST_CS_SELECTOR, L2_CS32_SEL);
	vmwrite(GUEST_CS_BASE, 0);
	vmwrite(GUEST_CS_LIMIT, 0xffffffff);
	vmwrite(GUEST_CS_AR_BYTES, 0xc09b);	/* 32-bit code, G, D */
	vmwrite(GUEST_CR3, cr3);
	vmwrite(GUEST_IA32_EFER, 0);
	return true;
}

static void check_pae_l2_efer(void)
{
	CHECK(GUEST_IA32_EFER,
	      nvmx_res.efer & ~(NVMX_EFER_LMA | NVMX_EFER_LME),
	      "26.3.2.1, 27.3.1 (save IA32_EFER)");
}

/*
 * Without EPT the PDPTEs come from the PDPT at CR3 (26.3.2.4): L2 reads
 * marker A through PDPTE 1, before and after reloading CR3.
 */
static void case_pae_l2_no_ept(void)
{
	if (!setup_pae_l2(false, nvmx_env.pdpt_gpa) ||
	    !run_l2(ASM_LABEL(l2_pae_begin), EXIT_REASON_VMCALL_NR))
		return;
	report("L2 EBX: marker via the PDPTEs at VM entry", MARKER_A,
	       (u32)nvmx_gpr_out[GPR_RBX], "26.3.2.4");
	report("L2 ECX: marker after MOV to CR3", MARKER_A,
	       (u32)nvmx_gpr_out[GPR_RCX], "4.4.1");
	CHECK(GUEST_RIP, ASM_LABEL(l2_pae_vmcall), "27.3.3");
	CHECK(GUEST_CR3, nvmx_env.pdpt_gpa, "27.3.1");
	check_pae_l2_efer();
}

/*
 * With EPT, VM entry loads the PDPTEs from the GUEST_PDPTRn fields, not
 * from memory (26.3.2.4): PDPTE 1 in the field maps marker B, the one in
 * memory marker A.  L2's MOV to CR3 loads the ones in memory, and the exit
 * saves the PDPTEs in use into the fields (27.3.4).
 */
static void case_pae_l2_ept_pdptes(void)
{
	if (!setup_pae_l2(true, nvmx_env.pdpt_gpa))
		return;
	vmwrite(GUEST_PDPTR0, nvmx_env.pdpte[0]);
	vmwrite(GUEST_PDPTR1, nvmx_env.pdpte_b);
	vmwrite(GUEST_PDPTR2, nvmx_env.pdpte[2]);
	vmwrite(GUEST_PDPTR3, nvmx_env.pdpte[3]);
	if (!run_l2(ASM_LABEL(l2_pae_begin), EXIT_REASON_VMCALL_NR))
		return;
	report("L2 EBX: marker via GUEST_PDPTR1", MARKER_B,
	       (u32)nvmx_gpr_out[GPR_RBX], "26.3.2.4");
	report("L2 ECX: marker after MOV to CR3", MARKER_A,
	       (u32)nvmx_gpr_out[GPR_RCX], "25.3 (MOV to CR3), 4.4.1");
	CHECK(GUEST_PDPTR0, nvmx_env.pdpte[0], "27.3.4");
	CHECK(GUEST_PDPTR1, nvmx_env.pdpte[1], "27.3.4");
	CHECK(GUEST_PDPTR2, nvmx_env.pdpte[2], "27.3.4");
	CHECK(GUEST_PDPTR3, nvmx_env.pdpte[3], "27.3.4");
	CHECK(GUEST_RIP, ASM_LABEL(l2_pae_vmcall), "27.3.3");
	check_pae_l2_efer();
}

/*
 * Without EPT a PDPTE with a reserved bit set fails the VM entry with
 * exit qualification 2 (26.3.1.6, 26.7), which loads host state like a VM
 * exit (26.7): L1 must come back exactly as from any other exit.
 */
static void case_pae_bad_pdpte_entry_fails(void)
{
	if (!setup_pae_l2(false, nvmx_env.bad_pdpt_gpa) ||
	    !run_l2(ASM_LABEL(l2_pae_begin),
		    NVMX_EXIT_FAILED_ENTRY | EXIT_REASON_INVALID_STATE_NR))
		return;
	CHECK(EXIT_QUALIFICATION, ENTRY_FAIL_PDPTE, "26.7");
}

static const struct nvmx_case cases[] = {
	{ "host_state_load_efer_pat", case_host_state },
	{ "host_cr0_cd_nw_et_kept", case_host_cr0_kept_bits },
	{ "efer_not_loaded", case_efer_not_loaded },
	{ "pat_not_loaded", case_pat_not_loaded },
	{ "exit_msr_load_list", case_exit_msr_load_list },
	{ "pae_l2_no_ept", case_pae_l2_no_ept },
	{ "pae_l2_ept_pdptes", case_pae_l2_ept_pdptes },
	{ "pae_bad_pdpte_entry_fails", case_pae_bad_pdpte_entry_fails },
};

static void run_case(int i)
{
	/*
	 * An all-zero MSR bitmap lets L2's WRMSRs through (25.1.3);
	 * EPT only where a case asks for it.
	 */
	GUEST_ASSERT(ctl_update(CPU_BASED_VM_EXEC_CONTROL,
				MSR_IA32_VMX_PROCBASED_CTLS,
				CPU_BASED_USE_MSR_BITMAPS, 0));
	vmwrite(SECONDARY_VM_EXEC_CONTROL,
		vmreadz(SECONDARY_VM_EXEC_CONTROL) &
		~SECONDARY_EXEC_ENABLE_EPT);
	cases[i].run();
}

void l1_guest_code(struct vmx_pages *vmx)
{
	nvmx_have_tsc_aux = this_cpu_has(X86_FEATURE_RDTSCP) ||
			    this_cpu_has(X86_FEATURE_RDPID);
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, ARRAY_SIZE(cases), run_case);
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;
static int host_mismatch[ARRAY_SIZE(cases)];
static int host_snapshots[ARRAY_SIZE(cases)];

static void host_expect(int c, const char *what, u64 expected, u64 actual)
{
	if (expected == actual)
		return;
	host_mismatch[c]++;
	ksft_print_msg("%s: KVM_GET_SREGS %s: expected 0x%lx, got 0x%lx (SDM 27.5.2)\n",
		       cases[c].name, what, expected, actual);
}

static void host_expect_field(int c, const char *seg, const char *field,
			      u64 expected, u64 actual)
{
	char what[32];

	snprintf(what, sizeof(what), "%s.%s", seg, field);
	host_expect(c, what, expected, actual);
}

/* 27.5.2: a usable segment register loaded by a VM exit to 64-bit mode. */
static void host_expect_seg(int c, const char *name, struct kvm_segment *s,
			    u16 sel, u64 base, bool code)
{
	host_expect_field(c, name, "selector", sel, s->selector);
	host_expect_field(c, name, "base", base, s->base);
	host_expect_field(c, name, "limit", 0xffffffff, s->limit);
	host_expect_field(c, name, "type", code ? 11 : 3, s->type);
	host_expect_field(c, name, "s", 1, s->s);
	host_expect_field(c, name, "dpl", 0, s->dpl);
	host_expect_field(c, name, "present", 1, s->present);
	host_expect_field(c, name, "db", code ? 0 : 1, s->db);
	host_expect_field(c, name, "g", 1, s->g);
	host_expect_field(c, name, "unusable", 0, s->unusable);
	if (code)
		host_expect_field(c, name, "l", 1, s->l);
}

/*
 * The stub stopped right after the exit: the hidden parts of L1's segment
 * registers, TR, LDTR, GDTR and IDTR, as KVM holds them, must be what
 * 27.5.2 loads.
 */
static void host_snapshot(int c)
{
	struct nvmx_expect *e = &nvmx_expect;
	struct kvm_sregs sregs;

	host_snapshots[c]++;
	sync_global_from_guest(vm, nvmx_expect);
	vcpu_sregs_get(vcpu, &sregs);
	host_expect_seg(c, "cs", &sregs.cs, e->cs, 0, true);
	host_expect_seg(c, "ss", &sregs.ss, e->ss, 0, false);
	host_expect_seg(c, "ds", &sregs.ds, e->ds, 0, false);
	host_expect_seg(c, "es", &sregs.es, e->es, 0, false);
	host_expect_seg(c, "fs", &sregs.fs, e->fs, e->fs_base, false);
	host_expect_seg(c, "gs", &sregs.gs, e->gs, e->gs_base, false);
	host_expect(c, "tr.selector", e->tr, sregs.tr.selector);
	host_expect(c, "tr.base", e->tr_base, sregs.tr.base);
	host_expect(c, "tr.limit", 0x67, sregs.tr.limit);
	host_expect(c, "tr.type (busy TSS)", 11, sregs.tr.type);
	host_expect(c, "tr.s", 0, sregs.tr.s);
	host_expect(c, "tr.dpl", 0, sregs.tr.dpl);
	host_expect(c, "tr.present", 1, sregs.tr.present);
	host_expect(c, "tr.db", 0, sregs.tr.db);
	host_expect(c, "tr.g", 0, sregs.tr.g);
	host_expect(c, "tr.unusable", 0, sregs.tr.unusable);
	host_expect(c, "ldt.selector", 0, sregs.ldt.selector);
	host_expect(c, "ldt.unusable", 1, sregs.ldt.unusable);
	host_expect(c, "gdt.base", e->gdtr_base, sregs.gdt.base);
	host_expect(c, "gdt.limit", 0xffff, sregs.gdt.limit);
	host_expect(c, "idt.base", e->idtr_base, sregs.idt.base);
	host_expect(c, "idt.limit", 0xffff, sregs.idt.limit);
}

static void host_message(struct ucall *uc)
{
	int c = uc->args[1];
	const char *name = cases[c].name;
	u64 verdict;

	switch (uc->args[0]) {
	case NVMX_MSG_MISMATCH:
	case NVMX_MSG_NOTE:
		nvmx_host_print(uc, name);
		break;
	case NVMX_MSG_SNAPSHOT:
		host_snapshot(c);
		break;
	case NVMX_MSG_CASE_END:
		verdict = uc->args[2];
		/* Every case that ran L2 comes back through the stub once. */
		if (verdict != NVMX_SKIP && host_snapshots[c] != 1) {
			ksft_print_msg("%s: %d host-state snapshots, expected 1\n",
				       name, host_snapshots[c]);
			verdict = NVMX_FAIL;
		}
		if (host_mismatch[c] && verdict != NVMX_SKIP)
			verdict = NVMX_FAIL;
		nvmx_host_result(name, verdict, (const char *)uc->args[3]);
		break;
	default:
		TEST_FAIL("unknown message 0x%lx from L1", uc->args[0]);
	}
}

/* A page of guest memory: its guest-virtual address, host pointer, GPA. */
static u64 *alloc_page(vm_vaddr_t *gva, u64 *gpa)
{
	vm_vaddr_t va = vm_vaddr_alloc_page(vm);

	if (gva)
		*gva = va;
	*gpa = addr_gva2gpa(vm, va);
	return addr_gva2hva(vm, va);
}

/*
 * PAE paging structures for 32-bit L2 (4.4): PDPTE 0 maps L2's code at
 * the same linear addresses L1 uses, PDPTE 1 maps PAE_MARKER_VA to a page
 * holding MARKER_A; a second PD/PT maps it to MARKER_B instead, for the
 * PDPTE in GUEST_PDPTR1.  PDPTEs have only P set (bits 2:1 are reserved).
 */
static void host_setup_pae(void)
{
	u64 pdpt_gpa, pd0_gpa, pt0_gpa, pda_gpa, pta_gpa, pdb_gpa, ptb_gpa;
	u64 ma_gpa, mb_gpa, bad_gpa;
	u64 *pdpt = alloc_page(NULL, &pdpt_gpa);
	u64 *bad = alloc_page(NULL, &bad_gpa);
	u64 *pd0 = alloc_page(NULL, &pd0_gpa);
	u64 *pt0 = alloc_page(NULL, &pt0_gpa);
	u64 *pda = alloc_page(NULL, &pda_gpa);
	u64 *pta = alloc_page(NULL, &pta_gpa);
	u64 *pdb = alloc_page(NULL, &pdb_gpa);
	u64 *ptb = alloc_page(NULL, &ptb_gpa);
	u32 *ma = (u32 *)alloc_page(NULL, &ma_gpa);
	u32 *mb = (u32 *)alloc_page(NULL, &mb_gpa);
	u64 va = ASM_LABEL(l2_pae_begin) & ~0xfffull;
	u64 end = ASM_LABEL(l2_pae_end);

	TEST_ASSERT(end < (1ull << 21) * 512 && (va >> 21) == ((end - 1) >> 21),
		    "L2's 32-bit code must lie in one 2 MiB region below 1 GiB");
	pd0[(va >> 21) & 511] = pt0_gpa | 3;
	for (; va < end; va += 4096)
		pt0[(va >> 12) & 511] = addr_gva2gpa(vm, va) | 3;
	*ma = MARKER_A;
	*mb = MARKER_B;
	pda[0] = pta_gpa | 3;
	pta[0] = ma_gpa | 3;
	pdb[0] = ptb_gpa | 3;
	ptb[0] = mb_gpa | 3;
	pdpt[0] = pd0_gpa | 1;
	pdpt[1] = pda_gpa | 1;
	memcpy(bad, pdpt, 32);
	bad[3] = pdb_gpa | 1 | 2;	/* P, and reserved bit 1 */

	nvmx_env.pdpt_gpa = pdpt_gpa;
	nvmx_env.bad_pdpt_gpa = bad_gpa;
	memcpy(nvmx_env.pdpte, pdpt, sizeof(nvmx_env.pdpte));
	nvmx_env.pdpte_b = pdb_gpa | 1;
}

int main(int argc, char *argv[])
{
	struct vmx_pages *vmx;
	vm_vaddr_t pml4_copy;

	vm = nvmx_host_create(&vcpu, ARRAY_SIZE(cases), &vmx);
	nvmx_env.exit_msrs_gpa = addr_gva2gpa(vm, (vm_vaddr_t)nvmx_exit_msrs);
	host_setup_pae();
	if (kvm_vm_has_ept(vm)) {
		prepare_eptp(vmx, vm, 0);
		nvmx_env.have_ept = true;
	}
	/* Last but EPT: the copy must include every mapping L1 has. */
	pml4_copy = vm_vaddr_alloc_page(vm);
	memcpy(addr_gva2hva(vm, pml4_copy), addr_gpa2hva(vm, vm->pgd),
	       getpagesize());
	nvmx_env.pml4_copy_gpa = addr_gva2gpa(vm, pml4_copy);
	/* L2 physical = L1 physical for every page in use (EPT 4-level). */
	if (nvmx_env.have_ept)
		nested_map_memslot(vmx, vm, 0);
	return nvmx_host_run(vm, vcpu, host_message);
}
