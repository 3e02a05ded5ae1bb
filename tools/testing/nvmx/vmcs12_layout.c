// SPDX-License-Identifier: GPL-2.0
/*
 * Prints our struct vmcs12 the way scripts/nvmx/vmcs12-abi.sh compares it
 * with 6.1's.
 *
 *   vmcs12_layout            "member offset size" for every member in
 *                            layout order, then "sizeof N"
 *   vmcs12_layout encodings  "encoding offset" for every encoding VMREAD
 *                            and VMWRITE accept, where offset is that of
 *                            the bytes accessed (a high half's is its
 *                            field's + 4)
 */
#include <stdio.h>
#include <string.h>

#include <nvmx/vmcs12_table.h>

static const struct vmcs12 proto;	/* only ever an operand of sizeof */

/* One array per fact, so that each row names its member once. */
static const struct {
	const char *name;
} member_name[] = {
	{ "hdr" }, { "abort" }, { "launch_state" }, { "padding" },
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)	{ #m },
#define NVMX_VMCS12_PAD(type, m, n)			{ #m },
#include <nvmx/vmcs12_rows.h>
};

static const size_t member_offset[] = {
	offsetof(struct vmcs12, hdr), offsetof(struct vmcs12, abort),
	offsetof(struct vmcs12, launch_state),
	offsetof(struct vmcs12, padding),
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)	offsetof(struct vmcs12, m),
#define NVMX_VMCS12_PAD(type, m, n)			offsetof(struct vmcs12, m),
#include <nvmx/vmcs12_rows.h>
};

static const size_t member_size[] = {
	sizeof(proto.hdr), sizeof(proto.abort), sizeof(proto.launch_state),
	sizeof(proto.padding),
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)	sizeof(proto.m),
#define NVMX_VMCS12_PAD(type, m, n)			sizeof(proto.m),
#include <nvmx/vmcs12_rows.h>
};

static void print_layout(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(member_name); i++)
		printf("%s %zu %zu\n", member_name[i].name, member_offset[i],
		       member_size[i]);
	printf("sizeof %zu\n", sizeof(struct vmcs12));
}

static void print_encodings(void)
{
	u32 e;

	for (e = 0; e <= 0xffff; e++) {
		const struct nvmx_field *f = nvmx_vmcs12_field(e);

		if (f)
			printf("0x%04x %u\n", e,
			       f->offset + (e & NVMX_ENC_HIGH ? 4 : 0));
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "encodings"))
		print_encodings();
	else
		print_layout();
	return 0;
}
