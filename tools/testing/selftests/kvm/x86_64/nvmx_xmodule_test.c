// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_xmodule_test: a VM whose L1 runs L2 moves through a file, as a VMM
 * migrates it, from one kvm-intel module to another: the whole vCPU
 * (KVM_GET_NESTED_STATE and everything vcpu_save_state() takes) and all
 * of the VM's memory.
 *
 * L1 enters VMX operation, loads a VMCS and runs L2 through NR_ROUNDS
 * VMCALL exits that it handles and resumes; L2 keeps a checksum of its
 * rounds.  In the middle of that stream (round STAGE_MOVE) L2 stops for
 * the host, which saves the VM; the restored VM runs to the end, and L1's
 * exit count and L2's checksum must be those the rounds give.
 *
 *   nvmx_xmodule_test               save and restore in this process, with
 *                                   the module that is loaded
 *   nvmx_xmodule_test save FILE     run to the move, save the VM to FILE
 *   nvmx_xmodule_test restore FILE  restore the VM from FILE, run to the end
 *
 * Between save and restore the emulated host's /init loads the other
 * kvm-intel module (scripts/nvmx/vmxhost/init: a plan line
 * "nvmx_xmodule_test[from-other]").  The VMX capability MSRs are not
 * restored: they say what the saving module offers, and the restoring
 * module keeps its own (a VMM sets them from its CPU model, the same on
 * both sides); KVM_SET_NESTED_STATE must take the state under them.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvmx_module.h"
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define NR_ROUNDS	16
#define STAGE_MOVE	8
#define STAGE_DONE	100
#define FILE_MAGIC	0x6e766d78786d6f64ull	/* "nvmxxmod" */

static u64 l2_sum;

static void l2_guest_code(void)
{
	u64 round;

	for (round = 1; round <= NR_ROUNDS; round++) {
		l2_sum = l2_sum * 31 + round;
		if (round == STAGE_MOVE)
			GUEST_SYNC(STAGE_MOVE);
		vmcall();
	}
	vmcall();
}

static void l1_guest_code(struct vmx_pages *vmx_pages)
{
	unsigned long l2_stack[256];
	u64 exits = 0;

	GUEST_ASSERT(prepare_for_vmx_operation(vmx_pages));
	GUEST_ASSERT(load_vmcs(vmx_pages));
	prepare_vmcs(vmx_pages, l2_guest_code, &l2_stack[256]);
	GUEST_ASSERT(!vmlaunch());
	for (;;) {
		GUEST_ASSERT_1(vmreadz(VM_EXIT_REASON) == EXIT_REASON_VMCALL,
			       vmreadz(VM_EXIT_REASON));
		if (++exits == NR_ROUNDS + 1)
			break;
		GUEST_ASSERT(!vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) + 3));
		GUEST_ASSERT(!vmresume());
	}
	GUEST_SYNC_ARGS(STAGE_DONE, exits, l2_sum, 0, 0);
}

/* The VM as every run creates it: the same layout in each process. */
static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu)
{
	vm_vaddr_t pages_gva;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(vcpu, l1_guest_code);
	vcpu_alloc_vmx(vm, &pages_gva);
	vcpu_args_set(*vcpu, 1, pages_gva);
	return vm;
}

/* Run to the next GUEST_SYNC; its stage, and its two arguments in @args */
static u64 run_to_sync(struct kvm_vcpu *vcpu, u64 args[2])
{
	struct ucall uc;
	u64 stage = nvmx_run_to_sync(vcpu, &uc);

	if (args) {
		args[0] = uc.args[2];
		args[1] = uc.args[3];
	}
	return stage;
}

static void put(FILE *f, const void *p, size_t n)
{
	TEST_ASSERT(fwrite(p, 1, n, f) == n, "write to the state file");
}

static void get(FILE *f, void *p, size_t n)
{
	TEST_ASSERT(fread(p, 1, n, f) == n, "state file too short");
}

static size_t xsave_size(struct kvm_vm *vm)
{
	int size = vm_check_cap(vm, KVM_CAP_XSAVE2);

	return size ? size : sizeof(struct kvm_xsave);
}

static size_t state_size(struct kvm_x86_state *s)
{
	return sizeof(*s) + s->msrs.nmsrs * sizeof(s->msrs.entries[0]);
}

/*
 * The file: magic, state size, xsave size, the vCPU state, its xsave area,
 * the number of memory regions, then each region's slot, address, size
 * and bytes.
 */
static void save_vm(struct kvm_vm *vm, struct kvm_vcpu *vcpu, FILE *f)
{
	struct kvm_x86_state *s = vcpu_save_state(vcpu);
	struct userspace_mem_region *region;
	u64 hdr[3] = { FILE_MAGIC, state_size(s), xsave_size(vm) };
	u64 n = 0, r[3];
	int bkt;

	TEST_ASSERT(s->nested.size > sizeof(s->nested) &&
		    (s->nested.flags & KVM_STATE_NESTED_GUEST_MODE),
		    "the state saved is not in L2: size %u flags 0x%x",
		    s->nested.size, s->nested.flags);
	put(f, hdr, sizeof(hdr));
	put(f, s, hdr[1]);
	put(f, s->xsave, hdr[2]);
	hash_for_each(vm->regions.slot_hash, bkt, region, slot_node)
		n++;
	put(f, &n, sizeof(n));
	hash_for_each(vm->regions.slot_hash, bkt, region, slot_node) {
		r[0] = region->region.slot;
		r[1] = region->region.guest_phys_addr;
		r[2] = region->region.memory_size;
		put(f, r, sizeof(r));
		put(f, region->host_mem, r[2]);
	}
	kvm_x86_state_cleanup(s);
}

/* SDM A.1-A.11: the capability MSRs, IA32_VMX_BASIC to IA32_VMX_VMFUNC */
static bool vmx_capability_msr(u32 index)
{
	return index >= MSR_IA32_VMX_BASIC && index <= MSR_IA32_VMX_VMFUNC;
}

static void restore_vm(struct kvm_vm *vm, struct kvm_vcpu *vcpu, FILE *f)
{
	struct userspace_mem_region *region;
	struct kvm_x86_state *s;
	u64 hdr[3], n, r[3], i, kept = 0;

	get(f, hdr, sizeof(hdr));
	TEST_ASSERT(hdr[0] == FILE_MAGIC && hdr[1] >= sizeof(*s) &&
		    hdr[2] == xsave_size(vm), "not a state file of this test");
	s = malloc(hdr[1]);
	TEST_ASSERT(s, "no memory");
	get(f, s, hdr[1]);
	TEST_ASSERT(state_size(s) == hdr[1], "state file inconsistent");
	s->xsave = malloc(hdr[2]);
	TEST_ASSERT(s->xsave, "no memory");
	get(f, s->xsave, hdr[2]);

	get(f, &n, sizeof(n));
	for (i = 0; i < n; i++) {
		get(f, r, sizeof(r));
		region = memslot2region(vm, r[0]);
		TEST_ASSERT(region->region.guest_phys_addr == r[1] &&
			    region->region.memory_size == r[2],
			    "memslot %lu: 0x%lx+0x%lx here, 0x%lx+0x%lx saved",
			    r[0], (u64)region->region.guest_phys_addr,
			    (u64)region->region.memory_size, r[1], r[2]);
		get(f, region->host_mem, r[2]);
	}

	for (i = 0; i < s->msrs.nmsrs; i++)
		if (!vmx_capability_msr(s->msrs.entries[i].index))
			s->msrs.entries[kept++] = s->msrs.entries[i];
	s->msrs.nmsrs = kept;
	vcpu_load_state(vcpu, s);
	kvm_x86_state_cleanup(s);
}

/* L1's exits and L2's checksum, as the rounds give them */
static void check_done(struct kvm_vcpu *vcpu)
{
	u64 args[2], sum = 0, round;

	for (round = 1; round <= NR_ROUNDS; round++)
		sum = sum * 31 + round;
	TEST_ASSERT(run_to_sync(vcpu, args) == STAGE_DONE, "no end stage");
	TEST_ASSERT(args[0] == NR_ROUNDS + 1 && args[1] == sum,
		    "L1 saw %lu exits (expected %u), L2's checksum 0x%lx (expected 0x%lx)",
		    args[0], NR_ROUNDS + 1, args[1], sum);
	ksft_print_msg("%lu exits, checksum 0x%lx\n", args[0], args[1]);
}

static FILE *open_file(const char *path, const char *mode)
{
	FILE *f = fopen(path, mode);

	TEST_ASSERT(f, "cannot open %s", path);
	return f;
}

int main(int argc, char *argv[])
{
	bool save = argc == 3 && !strcmp(argv[1], "save");
	bool restore = argc == 3 && !strcmp(argv[1], "restore");
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	FILE *f;

	TEST_ASSERT(argc == 1 || save || restore,
		    "usage: %s [save FILE | restore FILE]", argv[0]);
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));

	ksft_print_header();
	ksft_set_plan(1);
	vm = create_vm(&vcpu);

	if (!restore) {
		TEST_ASSERT(run_to_sync(vcpu, NULL) == STAGE_MOVE,
			    "L2 did not reach the move");
		f = save ? open_file(argv[2], "w") : tmpfile();
		TEST_ASSERT(f, "no temporary file");
		save_vm(vm, vcpu, f);
		kvm_vm_free(vm);
		if (save) {
			TEST_ASSERT(!fclose(f), "write %s", argv[2]);
			ksft_test_result_pass("saved in L2 to %s\n", argv[2]);
			ksft_finished();
		}
		rewind(f);
		vm = create_vm(&vcpu);
	} else {
		f = open_file(argv[2], "r");
	}

	restore_vm(vm, vcpu, f);
	fclose(f);
	check_done(vcpu);
	kvm_vm_free(vm);
	ksft_test_result_pass("restored in L2, and L2 ran to the end\n");
	ksft_finished();
	return 0;
}
