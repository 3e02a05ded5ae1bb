// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the vmcs12 field table (include/nvmx/vmcs12_rows.h and the
 * code generated from it): the table against the SDM's encoding rules
 * (SDM 24.11.2, Appendix B) and exit rules (SDM 27.2, 27.3), the rows
 * against struct vmcs12, the VMREAD/VMWRITE lookup and the accessors.
 * Prints TAP; exits 1 when a test fails.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvmx/vmcs12_table.h>

static int tests_run;
static int tests_failed;
static int diags;		/* failure details printed by the current test */

/* A failure detail: "# what: expected X, got Y".  At most 20 per test. */
static void diag(const char *fmt, ...)
{
	va_list ap;

	if (diags++ >= 20)
		return;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static void run(bool (*test)(void), const char *what)
{
	bool ok;

	diags = 0;
	ok = test();
	tests_run++;
	if (diags > 20)
		printf("# ... %d more\n", diags - 20);
	if (!ok)
		tests_failed++;
	printf("%s %d - vmcs12 fields: %s\n", ok ? "ok" : "not ok", tests_run,
	       what);
}

/* A check that records its own failure: expected vs actual, in hex. */
#define EXPECT_EQ(ok, what, expected, actual)				\
	expect_eq(&(ok), what, (u64)(expected), (u64)(actual))

static void expect_eq(bool *ok, const char *what, u64 expected, u64 actual)
{
	if (expected == actual)
		return;
	diag("%s: expected 0x%llx, got 0x%llx", what, expected, actual);
	*ok = false;
}

/*
 * Facts about each member after the header, taken from the compiler, one
 * array per fact so that each row names its member once.
 */
static const struct {
	const char *name;
	bool is_field;
	size_t elem;		/* padding: the size of one element */
} member_info[] = {
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)	{ #m, true, 0 },
#define NVMX_VMCS12_PAD(type, m, n)			{ #m, false, sizeof(type) },
#include <nvmx/vmcs12_rows.h>
};

static const size_t member_offset[] = {
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)	offsetof(struct vmcs12, m),
#define NVMX_VMCS12_PAD(type, m, n)			offsetof(struct vmcs12, m),
#include <nvmx/vmcs12_rows.h>
};

static const struct vmcs12 proto;	/* only ever an operand of sizeof */
#define MEMBER_SIZE(m)		sizeof(proto.m)

static const size_t member_size[] = {
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)	MEMBER_SIZE(m),
#define NVMX_VMCS12_PAD(type, m, n)			MEMBER_SIZE(m),
#include <nvmx/vmcs12_rows.h>
};

#define NR_MEMBERS	ARRAY_SIZE(member_info)

/* 6.1 lets L1 use 141 fields; the nested-state ABI depends on the set. */
static bool test_count(void)
{
	bool ok = true;

	EXPECT_EQ(ok, "NVMX_NR_FIELDS", 141, NVMX_NR_FIELDS);
	return ok;
}

/* The class column restates encoding bits 11:10 (SDM 24.11.2). */
static bool test_class_is_encoding(void)
{
	const struct nvmx_field *f;
	bool ok = true;

	nvmx_for_each_field(f)
		EXPECT_EQ(ok, f->name, NVMX_ENC_CLASS(f->encoding), f->class);
	return ok;
}

/* The width column restates encoding bits 14:13 (SDM 24.11.2). */
static bool test_width_is_encoding(void)
{
	const struct nvmx_field *f;
	bool ok = true;

	nvmx_for_each_field(f)
		EXPECT_EQ(ok, f->name, NVMX_ENC_WIDTH(f->encoding), f->width);
	return ok;
}

/*
 * Full access (bit 0 clear) for every row; bit 12 and bits 31:15 are
 * reserved (SDM 24.11.2).
 */
static bool test_encoding_form(void)
{
	const struct nvmx_field *f;
	bool ok = true;

	nvmx_for_each_field(f)
		EXPECT_EQ(ok, f->name, 0, f->encoding & 0xffff9001u);
	return ok;
}

static bool test_encodings_unique(void)
{
	bool ok = true;
	int i, j;

	for (i = 0; i < NVMX_NR_FIELDS; i++) {
		for (j = i + 1; j < NVMX_NR_FIELDS; j++) {
			if (nvmx_fields[i].encoding != nvmx_fields[j].encoding)
				continue;
			diag("%s and %s: both 0x%04x", nvmx_fields[i].name,
			     nvmx_fields[j].name, nvmx_fields[i].encoding);
			ok = false;
		}
	}
	return ok;
}

/* nvmx_fields[] is the rows in order, each at its member's offset. */
static bool test_rows_are_members(void)
{
	bool ok = true;
	size_t i;
	int row = 0;

	for (i = 0; i < NR_MEMBERS; i++) {
		if (!member_info[i].is_field)
			continue;
		if (strcmp(nvmx_fields[row].name, member_info[i].name)) {
			diag("row %d: expected %s, got %s", row,
			     member_info[i].name, nvmx_fields[row].name);
			ok = false;
		}
		EXPECT_EQ(ok, member_info[i].name, member_offset[i],
			  nvmx_fields[row].offset);
		row++;
	}
	EXPECT_EQ(ok, "rows", NVMX_NR_FIELDS, row);
	return ok;
}

/* Offsets strictly increase; each member ends where the next begins. */
static bool test_offsets_increase(void)
{
	size_t i;
	bool ok = true;

	for (i = 1; i < NVMX_NR_FIELDS; i++) {
		if (nvmx_fields[i].offset > nvmx_fields[i - 1].offset)
			continue;
		diag("%s at %u, not after %s at %u", nvmx_fields[i].name,
		     nvmx_fields[i].offset, nvmx_fields[i - 1].name,
		     nvmx_fields[i - 1].offset);
		ok = false;
	}
	return ok;
}

/*
 * The header members, the rows and the padding rows tile struct vmcs12:
 * no overlap, no gap, nothing of the struct left out of the table.
 */
static bool test_rows_tile_struct(void)
{
	size_t end = offsetof(struct vmcs12, padding) +
		     sizeof(((struct vmcs12 *)0)->padding);
	bool ok = true;
	size_t i;

	for (i = 0; i < NR_MEMBERS; i++) {
		EXPECT_EQ(ok, member_info[i].name, end, member_offset[i]);
		end = member_offset[i] + member_size[i];
	}
	EXPECT_EQ(ok, "end of the last row", sizeof(struct vmcs12), end);
	return ok;
}

/* Each member holds exactly its width: natural width is 64 bits here. */
static bool test_member_size_is_width(void)
{
	static const size_t bytes[] = {
		[NVMX_W16] = 2, [NVMX_W32] = 4, [NVMX_W64] = 8, [NVMX_WNAT] = 8,
	};
	bool ok = true;
	size_t i;
	int row = 0;

	for (i = 0; i < NR_MEMBERS; i++) {
		if (!member_info[i].is_field)
			continue;
		EXPECT_EQ(ok, member_info[i].name, bytes[nvmx_fields[row].width],
			  member_size[i]);
		EXPECT_EQ(ok, "nvmx_width_bytes()",
			  bytes[nvmx_fields[row].width],
			  nvmx_width_bytes(nvmx_fields[row].width));
		row++;
	}
	return ok;
}

/* Naturally aligned within the struct, as 6.1's unpacked layout would be. */
static bool test_members_aligned(void)
{
	bool ok = true;
	size_t i;

	for (i = 0; i < NR_MEMBERS; i++) {
		size_t align = member_info[i].is_field ? member_size[i] :
						       member_info[i].elem;

		EXPECT_EQ(ok, member_info[i].name, 0, member_offset[i] % align);
	}
	return ok;
}

/* 6.1's size and constants (nested-state ABI, MSR_IA32_VMX_BASIC). */
static bool test_size_and_constants(void)
{
	bool ok = true;

	EXPECT_EQ(ok, "sizeof(struct vmcs12)", 998, sizeof(struct vmcs12));
	EXPECT_EQ(ok, "VMCS12_SIZE", 0x1000, VMCS12_SIZE);
	EXPECT_EQ(ok, "sizeof(struct vmcs12) <= VMCS12_SIZE", 1,
		  sizeof(struct vmcs12) <= VMCS12_SIZE);
	EXPECT_EQ(ok, "VMCS12_REVISION", 0x11e57ed0, VMCS12_REVISION);
	EXPECT_EQ(ok, "sizeof(struct vmcs_hdr)", 4, sizeof(struct vmcs_hdr));
	EXPECT_EQ(ok, "offsetof(abort)", 4, offsetof(struct vmcs12, abort));
	EXPECT_EQ(ok, "offsetof(launch_state)", 8,
		  offsetof(struct vmcs12, launch_state));
	return ok;
}

/* A few offsets read off 6.1's DWARF, one per group (vmcs12-abi.sh: all). */
static bool test_anchor_offsets(void)
{
	static const struct {
		u32 encoding;
		u16 offset;
	} anchors[] = {
		{ 0x2000, 40 },		/* io_bitmap_a */
		{ 0x2400, 168 },	/* guest_physical_address */
		{ 0x2032, 328 },	/* tsc_multiplier */
		{ 0x6000, 344 },	/* cr0_guest_host_mask */
		{ 0x6400, 408 },	/* exit_qualification */
		{ 0x6c16, 672 },	/* host_rip */
		{ 0x4000, 744 },	/* pin_based_vm_exec_control */
		{ 0x482e, 928 },	/* vmx_preemption_timer_value */
		{ 0x0000, 960 },	/* virtual_processor_id */
		{ 0x0812, 996 },	/* guest_pml_index */
	};
	bool ok = true;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(anchors); i++) {
		const struct nvmx_field *f = nvmx_vmcs12_field(anchors[i].encoding);

		if (!f) {
			diag("0x%04x: not found", anchors[i].encoding);
			ok = false;
			continue;
		}
		EXPECT_EQ(ok, f->name, anchors[i].offset, f->offset);
	}
	return ok;
}

/*
 * Exit information is written only when an exit is reflected (SDM 27.2);
 * controls and host state are never saved (SDM 27.3 saves guest state,
 * 27.5 loads host state).
 */
static bool test_sync_by_class(void)
{
	static const u8 sync_of_class[] = {
		[NVMX_CONTROL] = NVMX_SYNC_NEVER,
		[NVMX_EXIT_INFO] = NVMX_SYNC_EXIT_INFO,
		[NVMX_HOST] = NVMX_SYNC_NEVER,
	};
	const struct nvmx_field *f;
	bool ok = true;

	nvmx_for_each_field(f) {
		if (f->class == NVMX_GUEST)
			continue;
		EXPECT_EQ(ok, f->name, sync_of_class[f->class], f->sync);
		EXPECT_EQ(ok, f->name, 0, f->save_ctl);
	}
	return ok;
}

/*
 * Guest state: saved on every exit (SDM 27.3) except the fields below, which
 * the SDM saves only under a VM-exit control (27.3.1), under "enable EPT"
 * (the PDPTEs, 27.3.4) or virtual-interrupt delivery (the guest interrupt
 * status, 27.3.4), or which no exit of
 * ours writes: the VMCS link pointer, fields saved only under a control
 * or feature that L1 is not offered, and the PML index, which L0's
 * emulated logging keeps in vmcs12 itself.
 */
static const struct {
	const char *name;
	u8 sync;
	u32 ctl;
} guest_exceptions[] = {
	{ "guest_ia32_debugctl", NVMX_SYNC_SAVE_CTL, 1u << 2 },
	{ "guest_dr7", NVMX_SYNC_SAVE_CTL, 1u << 2 },
	{ "guest_ia32_pat", NVMX_SYNC_SAVE_CTL, 1u << 18 },
	{ "guest_ia32_efer", NVMX_SYNC_SAVE_CTL, 1u << 20 },
	{ "vmx_preemption_timer_value", NVMX_SYNC_SAVE_CTL, 1u << 22 },
	{ "guest_ia32_perf_global_ctrl", NVMX_SYNC_NEVER, 0 },
	{ "guest_bndcfgs", NVMX_SYNC_NEVER, 0 },
	{ "guest_pdptr0", NVMX_SYNC_SAVE_EXEC2, 1u << 1 },
	{ "guest_pdptr1", NVMX_SYNC_SAVE_EXEC2, 1u << 1 },
	{ "guest_pdptr2", NVMX_SYNC_SAVE_EXEC2, 1u << 1 },
	{ "guest_pdptr3", NVMX_SYNC_SAVE_EXEC2, 1u << 1 },
	{ "guest_intr_status", NVMX_SYNC_SAVE_EXEC2, 1u << 9 },
	{ "guest_pml_index", NVMX_SYNC_NEVER, 0 },
	{ "vmcs_link_pointer", NVMX_SYNC_NEVER, 0 },
};

/*
 * Guest state that KVM keeps nowhere but in the VMCS: segment registers,
 * GDTR and IDTR, the SYSENTER MSRs, the pending debug exceptions.  An exit
 * leaves it in vmcs02 (NVMX_SYNC_VMCS02).
 */
static bool nvmx_in_vmcs02_only(const char *name)
{
	static const char *const prefix[] = {
		"guest_es_", "guest_cs_", "guest_ss_", "guest_ds_",
		"guest_fs_", "guest_gs_", "guest_ldtr_", "guest_tr_",
		"guest_gdtr_", "guest_idtr_", "guest_sysenter_",
		"guest_pending_dbg_exceptions",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(prefix); i++)
		if (!strncmp(name, prefix[i], strlen(prefix[i])))
			return true;
	return false;
}

static bool test_guest_sync(void)
{
	const struct nvmx_field *f;
	unsigned int seen = 0, vmcs02 = 0;
	bool ok = true;

	nvmx_for_each_field(f) {
		u8 sync = NVMX_SYNC_L2;
		u32 ctl = 0;
		size_t i;

		if (f->class != NVMX_GUEST)
			continue;
		if (nvmx_in_vmcs02_only(f->name)) {
			sync = NVMX_SYNC_VMCS02;
			vmcs02++;
		}
		for (i = 0; i < ARRAY_SIZE(guest_exceptions); i++) {
			if (strcmp(f->name, guest_exceptions[i].name))
				continue;
			sync = guest_exceptions[i].sync;
			ctl = guest_exceptions[i].ctl;
			seen++;
		}
		EXPECT_EQ(ok, f->name, sync, f->sync);
		EXPECT_EQ(ok, f->name, ctl, f->save_ctl);
	}
	EXPECT_EQ(ok, "guest exceptions found in the table",
		  ARRAY_SIZE(guest_exceptions), seen);
	/* 8 segments x 4 fields, GDTR/IDTR x 2, SYSENTER x 3, pending #DB */
	EXPECT_EQ(ok, "fields in vmcs02 only", 40, vmcs02);
	return ok;
}

/* The VM-exit control bits as SDM 24.7.1 numbers them. */
static bool test_control_bits(void)
{
	bool ok = true;

	EXPECT_EQ(ok, "save debug controls", 0x4,
		  NVMX_EXIT_SAVE_DEBUG_CONTROLS);
	EXPECT_EQ(ok, "save IA32_PAT", 0x40000, NVMX_EXIT_SAVE_IA32_PAT);
	EXPECT_EQ(ok, "save IA32_EFER", 0x100000, NVMX_EXIT_SAVE_IA32_EFER);
	EXPECT_EQ(ok, "save VMX-preemption timer value", 0x400000,
		  NVMX_EXIT_SAVE_PREEMPTION_TIMER);
	return ok;
}

/* Every row is found by its encoding, as itself. */
static bool test_lookup_rows(void)
{
	const struct nvmx_field *f;
	bool ok = true;

	nvmx_for_each_field(f) {
		const struct nvmx_field *got = nvmx_vmcs12_field(f->encoding);

		if (got == f)
			continue;
		diag("0x%04x (%s): expected row %td, got %s", f->encoding,
		     f->name, f - nvmx_fields, got ? got->name : "NULL");
		ok = false;
	}
	return ok;
}

/*
 * The odd encoding of a 64-bit field is its upper half (SDM 24.11.2): same
 * offset, class and sync, access type high.
 */
static bool test_lookup_high(void)
{
	const struct nvmx_field *f;
	unsigned int highs = 0;
	bool ok = true;
	char name[64];

	nvmx_for_each_field(f) {
		const struct nvmx_field *h;

		if (f->width != NVMX_W64)
			continue;
		highs++;
		h = nvmx_vmcs12_field(f->encoding | 1);
		if (!h) {
			diag("0x%04x (%s high): not found", f->encoding | 1,
			     f->name);
			ok = false;
			continue;
		}
		EXPECT_EQ(ok, f->name, f->encoding | 1, h->encoding);
		EXPECT_EQ(ok, f->name, f->offset, h->offset);
		EXPECT_EQ(ok, f->name, NVMX_W64, h->width);
		EXPECT_EQ(ok, f->name, f->class, h->class);
		EXPECT_EQ(ok, f->name, f->sync, h->sync);
		EXPECT_EQ(ok, f->name, f->save_ctl, h->save_ctl);
		snprintf(name, sizeof(name), "%s_high", f->name);
		if (strcmp(name, h->name)) {
			diag("name: expected %s, got %s", name, h->name);
			ok = false;
		}
	}
	/* 6.1 has 37 64-bit fields, each with a high half. */
	EXPECT_EQ(ok, "64-bit fields", 37, highs);
	return ok;
}

/*
 * Every 16-bit encoding: found exactly when it is a row, or the high half
 * of a 64-bit row.  Covers the high halves of 16-bit, 32-bit and natural
 * width fields, reserved bit 12 and every unsupported field.
 */
static bool test_lookup_exhaustive(void)
{
	unsigned int found = 0;
	bool ok = true;
	u32 e;

	for (e = 0; e <= 0xffff; e++) {
		const struct nvmx_field *got = nvmx_vmcs12_field(e);
		const struct nvmx_field *want = NULL;
		const struct nvmx_field *f;

		nvmx_for_each_field(f) {
			if (f->encoding == e)
				want = f;
		}
		if (e & 1) {
			nvmx_for_each_field(f) {
				if (f->encoding == (e & ~1u) &&
				    f->width == NVMX_W64)
					want = f;
			}
		}
		if (got)
			found++;
		if (!want != !got) {
			diag("0x%04x: expected %s, got %s", e,
			     want ? want->name : "NULL",
			     got ? got->name : "NULL");
			ok = false;
		}
	}
	EXPECT_EQ(ok, "encodings found", 141 + 37, found);
	return ok;
}

/*
 * The lookup indexes only with in-bounds values, whatever the compare
 * decides (vmcs12_table.h): every slot holds a row index below
 * NVMX_NR_FIELDS, its own row's where a row hashes to it, else 0.
 */
static bool test_lookup_slots(void)
{
	unsigned int rows = 0;
	bool ok = true;
	u32 s;

	for (s = 0; s < NVMX_FIELD_HASH; s++) {
		unsigned int row = nvmx_field_slot[s];

		if (row >= NVMX_NR_FIELDS) {
			diag("slot %u: row %u out of bounds", s, row);
			ok = false;
			continue;
		}
		if (nvmx_fields[row].encoding % NVMX_FIELD_HASH == s)
			rows++;
		else
			EXPECT_EQ(ok, "row of an empty slot", 0, row);
	}
	EXPECT_EQ(ok, "slots holding their own row", NVMX_NR_FIELDS, rows);
	return ok;
}

/* Unsupported encodings of note: VMREAD/VMWRITE give VMfailValid(12). */
static bool test_lookup_unsupported(void)
{
	static const struct {
		u32 encoding;
		const char *why;
	} none[] = {
		{ 0xffff, "all of bits 15:0" },
		{ 0x0004, "EPTP index: not offered by 6.1" },
		{ 0x0801, "high half of a 16-bit field" },
		{ 0x4001, "high half of a 32-bit field" },
		{ 0x6801, "high half of a natural-width field" },
		{ 0x200c, "executive-VMCS pointer" },
		{ 0x4020, "PLE gap" },
		{ 0x4828, "SMBASE" },
		{ 0x6008, "CR3-target value 0 (dead_space in 6.1)" },
		{ 0x6402, "I/O RCX" },
		{ 0x6c18, "host IA32_S_CET" },
		{ 0x3000, "reserved bit 12 with 64-bit width" },
		{ 0x8000, "bit 15" },
		{ 0x10000, "VPID's encoding with bit 16 set" },
		{ 0x80000800, "guest ES selector's with bit 31 set" },
		{ 0xffffffff, "all ones" },
	};
	bool ok = true;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(none); i++) {
		const struct nvmx_field *got = nvmx_vmcs12_field(none[i].encoding);

		if (!got)
			continue;
		diag("0x%x (%s): expected NULL, got %s", none[i].encoding,
		     none[i].why, got->name);
		ok = false;
	}
	return ok;
}

/* Encodings that look odd but are fields: VPID is 0, host RIP is 0x6c16. */
static bool test_lookup_edge_fields(void)
{
	const struct nvmx_field *f;
	bool ok = true;

	f = nvmx_vmcs12_field(0x0000);
	EXPECT_EQ(ok, "0x0000 is virtual_processor_id",
		  offsetof(struct vmcs12, virtual_processor_id),
		  f ? f->offset : 0xffff);
	f = nvmx_vmcs12_field(0x6c16);
	EXPECT_EQ(ok, "0x6c16 is host_rip", offsetof(struct vmcs12, host_rip),
		  f ? f->offset : 0xffff);
	f = nvmx_vmcs12_field(0x2001);
	EXPECT_EQ(ok, "0x2001 is io_bitmap_a's high half",
		  offsetof(struct vmcs12, io_bitmap_a), f ? f->offset : 0xffff);
	return ok;
}

static const u64 pattern = 0x8877665544332211ull;

/*
 * Write then read every field through its descriptor: the value comes back
 * cut to the field's width (VMWRITE keeps the low bits, SDM 30.3) and no
 * other byte of the struct changes.
 */
static bool test_read_write_all(void)
{
	static const u64 mask[] = {
		[NVMX_W16] = 0xffff, [NVMX_W32] = 0xffffffff,
		[NVMX_W64] = ~0ull, [NVMX_WNAT] = ~0ull,
	};
	struct vmcs12 *v = malloc(VMCS12_SIZE);
	u8 *before = malloc(VMCS12_SIZE);
	const struct nvmx_field *f;
	bool ok = true;
	size_t b;

	if (!v || !before)
		abort();
	nvmx_for_each_field(f) {
		memset(v, 0xa5, VMCS12_SIZE);
		memcpy(before, v, VMCS12_SIZE);
		nvmx_vmcs12_write(v, f, pattern);
		EXPECT_EQ(ok, f->name, pattern & mask[f->width],
			  nvmx_vmcs12_read(v, f));
		for (b = 0; b < VMCS12_SIZE; b++) {
			u8 *now = (u8 *)v;

			if (b >= f->offset &&
			    b < f->offset + nvmx_width_bytes(f->width))
				continue;
			if (now[b] == before[b])
				continue;
			diag("%s: wrote byte %zu outside the field", f->name, b);
			ok = false;
			break;
		}
	}
	free(before);
	free(v);
	return ok;
}

/* The struct members and the accessors agree, and little-endian order holds. */
static bool test_accessors_match_members(void)
{
	struct vmcs12 v;
	bool ok = true;

	memset(&v, 0, sizeof(v));
	v.guest_cs_selector = 0x1234;
	v.vm_exit_reason = 0x80000021;
	v.ept_pointer = 0x123456789abcdef0ull;
	v.guest_rip = 0xffffffff81000000ull;
	EXPECT_EQ(ok, "guest_cs_selector", 0x1234,
		  nvmx_vmcs12_read(&v, nvmx_vmcs12_field(0x0802)));
	EXPECT_EQ(ok, "vm_exit_reason", 0x80000021,
		  nvmx_vmcs12_read(&v, nvmx_vmcs12_field(0x4402)));
	EXPECT_EQ(ok, "ept_pointer", 0x123456789abcdef0ull,
		  nvmx_vmcs12_read(&v, nvmx_vmcs12_field(0x201a)));
	EXPECT_EQ(ok, "guest_rip", 0xffffffff81000000ull,
		  nvmx_vmcs12_read(&v, nvmx_vmcs12_field(0x681e)));
	nvmx_vmcs12_write(&v, nvmx_vmcs12_field(0x4826), 0xdead00000003ull);
	EXPECT_EQ(ok, "guest_activity_state after a 48-bit write", 3,
		  v.guest_activity_state);
	nvmx_vmcs12_write(&v, nvmx_vmcs12_field(0x0c02), 0x10010);
	EXPECT_EQ(ok, "host_cs_selector after a 17-bit write", 0x10,
		  v.host_cs_selector);
	return ok;
}

/*
 * High access (SDM 24.11.2): VMREAD returns bits 63:32 in bits 31:0;
 * VMWRITE sets bits 63:32 from bits 31:0 of the source, leaving 31:0.
 */
static bool test_high_access(void)
{
	const struct nvmx_field *hi = nvmx_vmcs12_field(0x201b);
	const struct nvmx_field *full = nvmx_vmcs12_field(0x201a);
	struct vmcs12 v;
	bool ok = true;

	if (!hi || !full) {
		diag("ept_pointer (0x201a, 0x201b) not found");
		return false;
	}
	memset(&v, 0, sizeof(v));
	v.ept_pointer = 0x123456789abcdef0ull;
	EXPECT_EQ(ok, "VMREAD high", 0x12345678, nvmx_vmcs12_read(&v, hi));
	nvmx_vmcs12_write(&v, hi, 0xfeedfacecafef00dull);
	EXPECT_EQ(ok, "field after VMWRITE high", 0xcafef00d9abcdef0ull,
		  v.ept_pointer);
	EXPECT_EQ(ok, "VMREAD full after VMWRITE high", 0xcafef00d9abcdef0ull,
		  nvmx_vmcs12_read(&v, full));
	EXPECT_EQ(ok, "tsc_multiplier untouched", 0, v.tsc_multiplier);
	EXPECT_EQ(ok, "eoi_exit_bitmap0 untouched", 0, v.eoi_exit_bitmap0);
	return ok;
}

/* evmcs.h's accessors: width from the encoding, offset from the caller. */
static bool test_read_write_any(void)
{
	struct vmcs12 v;
	bool ok = true;

	memset(&v, 0, sizeof(v));
	v.io_bitmap_a = 0x1111222233334444ull;
	v.guest_es_limit = 0xfffff;
	EXPECT_EQ(ok, "vmcs12_read_any 64-bit", 0x1111222233334444ull,
		  vmcs12_read_any(&v, 0x2000,
				  offsetof(struct vmcs12, io_bitmap_a)));
	EXPECT_EQ(ok, "vmcs12_read_any high at offset + 4", 0x11112222,
		  vmcs12_read_any(&v, 0x2001,
				  offsetof(struct vmcs12, io_bitmap_a) + 4));
	EXPECT_EQ(ok, "vmcs12_read_any 32-bit", 0xfffff,
		  vmcs12_read_any(&v, 0x4800,
				  offsetof(struct vmcs12, guest_es_limit)));
	vmcs12_write_any(&v, 0x0800, offsetof(struct vmcs12, guest_es_selector),
			 0xabcd0018);
	EXPECT_EQ(ok, "vmcs12_write_any 16-bit", 0x18, v.guest_es_selector);
	EXPECT_EQ(ok, "guest_cs_selector untouched", 0, v.guest_cs_selector);
	vmcs12_write_any(&v, 0x6800, offsetof(struct vmcs12, guest_cr0),
			 0x80050033);
	EXPECT_EQ(ok, "vmcs12_write_any natural", 0x80050033, v.guest_cr0);
	return ok;
}

/* Which guest fields a reflected exit saves, under vmcs12's controls. */
static bool test_exit_saves_field(void)
{
	static const struct {
		u32 encoding;
		u32 exit_ctls, exec, exec2;
		bool saved;
	} cases[] = {
		{ 0x681e, 0, 0, 0, true },		/* guest_rip */
		{ 0x4824, 0, 0, 0, true },		/* interruptibility */
		{ 0x681a, 0, 0, 0, false },		/* dr7 */
		{ 0x681a, 1u << 2, 0, 0, true },
		{ 0x2802, ~(1u << 2), 0, 0, false },	/* debugctl */
		{ 0x2804, 1u << 18, 0, 0, true },	/* pat */
		{ 0x2804, 1u << 19, 0, 0, false },	/* load, not save */
		{ 0x2806, 1u << 20, 0, 0, true },	/* efer */
		{ 0x482e, 1u << 22, 0, 0, true },	/* preemption timer */
		{ 0x482e, 0, 0, 0, false },
		/* controls L1 is not offered save nothing */
		{ 0x2808, 1u << 30, 0, 0, false },	/* perf global ctrl */
		{ 0x0812, 0, 1u << 31, 1u << 17, false },	/* PML index */
		/* guest interrupt status: under virtual-interrupt delivery */
		{ 0x0810, 0, 1u << 31, 1u << 9, true },
		{ 0x0810, 0, 0, 1u << 9, false },
		{ 0x0810, ~0u, 1u << 31, ~(1u << 9), false },
		/* PDPTEs: under "enable EPT", with secondary controls on */
		{ 0x280a, 0, 1u << 31, 1u << 1, true },
		{ 0x2810, 0, 1u << 31, 1u << 1, true },
		{ 0x280a, 0, 0, 1u << 1, false },
		{ 0x280a, ~0u, 1u << 31, ~(1u << 1), false },
		{ 0x2812, ~0u, ~0u, ~0u, false },	/* BNDCFGS */
		{ 0x2800, ~0u, ~0u, ~0u, false },	/* link pointer */
		{ 0x4402, ~0u, ~0u, ~0u, false },	/* exit reason */
		{ 0x4002, ~0u, ~0u, ~0u, false },	/* primary controls */
		{ 0x6c16, ~0u, ~0u, ~0u, false },	/* host_rip */
	};
	struct vmcs12 v;
	bool ok = true;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct nvmx_field *f = nvmx_vmcs12_field(cases[i].encoding);

		if (!f) {
			diag("0x%04x: not found", cases[i].encoding);
			ok = false;
			continue;
		}
		memset(&v, 0, sizeof(v));
		v.vm_exit_controls = cases[i].exit_ctls;
		v.cpu_based_vm_exec_control = cases[i].exec;
		v.secondary_vm_exec_control = cases[i].exec2;
		EXPECT_EQ(ok, f->name, cases[i].saved,
			  nvmx_exit_saves_field(&v, f));
	}
	return ok;
}

/* IA32_VMX_VMCS_ENUM's highest index: TSC multiplier's, 0x19 (SDM A.9). */
static bool test_max_index(void)
{
	bool ok = true;

	EXPECT_EQ(ok, "nvmx_vmcs12_max_index()", 0x19,
		  nvmx_vmcs12_max_index());
	return ok;
}

/* The iterator visits each row once, in order. */
static bool test_for_each(void)
{
	const struct nvmx_field *f;
	int n = 0;
	bool ok = true;

	nvmx_for_each_field(f) {
		EXPECT_EQ(ok, "row address", (uintptr_t)&nvmx_fields[n],
			  (uintptr_t)f);
		n++;
	}
	EXPECT_EQ(ok, "rows visited", NVMX_NR_FIELDS, n);
	return ok;
}

/*
 * VMCS shadowing (enum nvmx_shadow): L1 may read the exit information but
 * never write it (SDM 30.3 VMWRITE: error 13), so those fields are
 * read-only in the shadow VMCS; read-write fields are L1's to write; and no
 * 64-bit field is shadowed, since its high half would exit.  The set is the
 * fields of a typical exit handler (and HOST_RSP/HOST_RIP, which the KVM
 * selftest library's vmresume() writes before every entry): this list is
 * the test's copy of it.
 */
static bool test_shadow_fields(void)
{
	static const struct {
		const char *name;
		u8 shadow;
	} shadowed[] = {
		{ "exit_qualification", NVMX_SHADOW_READ },
		{ "guest_linear_address", NVMX_SHADOW_READ },
		{ "guest_cr0", NVMX_SHADOW_RW },
		{ "guest_cr3", NVMX_SHADOW_RW },
		{ "guest_cr4", NVMX_SHADOW_RW },
		{ "guest_rsp", NVMX_SHADOW_RW },
		{ "guest_rip", NVMX_SHADOW_RW },
		{ "guest_rflags", NVMX_SHADOW_RW },
		{ "host_rsp", NVMX_SHADOW_RW },
		{ "host_rip", NVMX_SHADOW_RW },
		{ "cpu_based_vm_exec_control", NVMX_SHADOW_RW },
		{ "vm_entry_intr_info_field", NVMX_SHADOW_RW },
		{ "vm_entry_exception_error_code", NVMX_SHADOW_RW },
		{ "vm_entry_instruction_len", NVMX_SHADOW_RW },
		{ "vm_exit_reason", NVMX_SHADOW_READ },
		{ "vm_exit_intr_info", NVMX_SHADOW_READ },
		{ "vm_exit_intr_error_code", NVMX_SHADOW_READ },
		{ "idt_vectoring_info_field", NVMX_SHADOW_READ },
		{ "idt_vectoring_error_code", NVMX_SHADOW_READ },
		{ "vm_exit_instruction_len", NVMX_SHADOW_READ },
		{ "vmx_instruction_info", NVMX_SHADOW_READ },
		{ "guest_interruptibility_info", NVMX_SHADOW_RW },
	};
	const struct nvmx_field *f;
	unsigned int i = 0;
	bool ok = true;

	nvmx_for_each_field(f) {
		if (f->shadow == NVMX_SHADOW_NONE)
			continue;
		EXPECT_EQ(ok, f->name, f->class == NVMX_EXIT_INFO,
			  f->shadow == NVMX_SHADOW_READ);
		EXPECT_EQ(ok, f->name, 0, f->width == NVMX_W64);
		if (i < ARRAY_SIZE(shadowed)) {
			EXPECT_EQ(ok, f->name, 0,
				  strcmp(shadowed[i].name, f->name));
			EXPECT_EQ(ok, f->name, shadowed[i].shadow, f->shadow);
		}
		i++;
	}
	EXPECT_EQ(ok, "shadowed fields", ARRAY_SIZE(shadowed), i);
	/* vm_instruction_error is written by VMfailValid, not an exit */
	f = nvmx_vmcs12_field(0x4400);
	EXPECT_EQ(ok, f->name, NVMX_SHADOW_NONE, f->shadow);
	return ok;
}

/*
 * nvmx_saved_rows[]: every row an exit saves at once, in order, and no
 * other; nvmx_vmcs02_rows[]: every row it leaves in vmcs02, none of them
 * shadowed (L1 would read vmcs12's older copy in the shadow VMCS).
 */
static bool test_saved_rows(void)
{
	const struct nvmx_field *f;
	unsigned int i = 0, j = 0;
	bool ok = true;

	nvmx_for_each_field(f) {
		if (f->sync == NVMX_SYNC_VMCS02) {
			EXPECT_EQ(ok, f->name, NVMX_SHADOW_NONE, f->shadow);
			if (j < nvmx_nr_vmcs02_rows)
				EXPECT_EQ(ok, f->name, (uintptr_t)f,
					  (uintptr_t)&nvmx_fields[nvmx_vmcs02_rows[j]]);
			j++;
			continue;
		}
		if (f->sync == NVMX_SYNC_NEVER || f->sync == NVMX_SYNC_EXIT_INFO)
			continue;
		if (i < nvmx_nr_saved_rows)
			EXPECT_EQ(ok, f->name, (uintptr_t)f,
				  (uintptr_t)&nvmx_fields[nvmx_saved_rows[i]]);
		i++;
	}
	EXPECT_EQ(ok, "saved rows", i, nvmx_nr_saved_rows);
	EXPECT_EQ(ok, "rows left in vmcs02", j, nvmx_nr_vmcs02_rows);
	return ok;
}

int main(void)
{
	printf("TAP version 13\n");
	run(test_count, "141 fields, as in 6.1");
	run(test_class_is_encoding, "class column is encoding bits 11:10");
	run(test_width_is_encoding, "width column is encoding bits 14:13");
	run(test_encoding_form, "full access, reserved encoding bits clear");
	run(test_encodings_unique, "encodings unique");
	run(test_rows_are_members, "rows in struct order at member offsets");
	run(test_offsets_increase, "offsets strictly increasing");
	run(test_rows_tile_struct, "rows and padding tile struct vmcs12");
	run(test_member_size_is_width, "member size matches width");
	run(test_members_aligned, "members naturally aligned");
	run(test_size_and_constants, "size 998, VMCS12_SIZE, revision");
	run(test_anchor_offsets, "offsets of 6.1's layout");
	run(test_sync_by_class, "exit info EXIT_INFO, control/host NEVER");
	run(test_guest_sync, "guest fields L2 unless the SDM says otherwise");
	run(test_control_bits, "save control bits");
	run(test_lookup_rows, "lookup finds every row");
	run(test_lookup_high, "lookup finds high halves of 64-bit fields");
	run(test_lookup_exhaustive, "lookup over all 16-bit encodings");
	run(test_lookup_slots, "lookup slots hold in-bounds row indexes");
	run(test_lookup_unsupported, "lookup NULL for unsupported encodings");
	run(test_lookup_edge_fields, "lookup of VPID (0), host RIP, high");
	run(test_read_write_all, "write/read every field, truncation");
	run(test_accessors_match_members, "accessors agree with members");
	run(test_high_access, "high access reads/writes bits 63:32");
	run(test_read_write_any, "vmcs12_read_any/vmcs12_write_any");
	run(test_exit_saves_field, "nvmx_exit_saves_field() by controls");
	run(test_max_index, "highest field index");
	run(test_for_each, "nvmx_for_each_field visits every row");
	run(test_saved_rows, "the rows an exit saves or leaves in vmcs02, in order");
	run(test_shadow_fields, "shadowed fields: the set, read-only exit info");
	printf("1..%d\n", tests_run);
	return tests_failed ? 1 : 0;
}
