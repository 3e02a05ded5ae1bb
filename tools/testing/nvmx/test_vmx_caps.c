// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side tests of include/nvmx/vmx_caps.h, the table that names the
 * bits nested_features lists: every name is printable as one word and is
 * unique within its field, no bit of a field is named twice, every bit
 * fits its field's width, and nvmx_cap_value() takes from an MSR what the
 * header says (the controls L1 may set and may clear, SDM A.3-A.5).  That
 * each row's bit is the kernel's own mask is checked when the module is
 * compiled (nested_features.c).
 */
#include <stdio.h>
#include <string.h>

#include <nvmx/vmx_caps.h>

static int n, failed;

static void result(int ok, const char *what)
{
	n++;
	printf("%sok %d - vmx_caps: %s\n", ok ? "" : "not ", n, what);
	if (!ok)
		failed = 1;
}

static int is_word(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return 0;
	return 1;
}

int main(void)
{
	unsigned int i, j, width;
	int ok;

	printf("TAP version 13\n");

	ok = 1;
	for (i = 0; i < ARRAY_SIZE(nvmx_cap_names); i++) {
		const struct nvmx_cap_name *c = &nvmx_cap_names[i];

		if (!is_word(c->name) || !strncmp(c->name, "bit", 3) ||
		    c->field >= NVMX_NR_CAP_FIELDS) {
			printf("# row %u: \"%s\"\n", i, c->name);
			ok = 0;
		}
	}
	result(ok, "names are lower-case words, none \"bitN\"-like, of a known field");

	ok = 1;
	for (i = 0; i < ARRAY_SIZE(nvmx_cap_names); i++)
		for (j = i + 1; j < ARRAY_SIZE(nvmx_cap_names); j++) {
			const struct nvmx_cap_name *a = &nvmx_cap_names[i];
			const struct nvmx_cap_name *b = &nvmx_cap_names[j];

			if (a->field != b->field)
				continue;
			if (a->bit == b->bit || !strcmp(a->name, b->name)) {
				printf("# %s: %s (bit %u) and %s (bit %u)\n",
				       nvmx_cap_fields[a->field].label,
				       a->name, a->bit, b->name, b->bit);
				ok = 0;
			}
		}
	result(ok, "within a field, every bit and every name at most once");

	ok = 1;
	for (i = 0; i < ARRAY_SIZE(nvmx_cap_names); i++) {
		const struct nvmx_cap_name *c = &nvmx_cap_names[i];

		width = nvmx_cap_fields[c->field].kind == NVMX_CAP_U64 ? 64 : 32;
		if (c->bit >= width) {
			printf("# %s: %s is bit %u\n",
			       nvmx_cap_fields[c->field].label, c->name, c->bit);
			ok = 0;
		}
		if (nvmx_cap_name(c->field, c->bit) != c->name)
			ok = 0;
	}
	result(ok, "every bit fits its field; nvmx_cap_name() finds every row");

	ok = 1;
	for (i = 0; i < NVMX_NR_CAP_FIELDS; i++)
		for (j = i + 1; j < NVMX_NR_CAP_FIELDS; j++)
			if (!strcmp(nvmx_cap_fields[i].label, nvmx_cap_fields[j].label))
				ok = 0;
	result(ok, "field labels are distinct");

	/* allowed-0 0x16, allowed-1 0x3f: L1 chooses bits 0, 3, 5 */
	ok = nvmx_cap_value(NVMX_CAP_PIN, 0x0000003f00000016ULL) == 0x29 &&
	     nvmx_cap_value(NVMX_CAP_SECONDARY, 0x0000400200000000ULL) == 0x4002 &&
	     nvmx_cap_value(NVMX_CAP_EPT, 0x00000f0106334141ULL) == 0x06334141 &&
	     nvmx_cap_value(NVMX_CAP_VPID, 0x00000f0106334141ULL) == 0xf01 &&
	     nvmx_cap_value(NVMX_CAP_VMFUNC, 0x8000000000000001ULL) ==
		0x8000000000000001ULL;
	result(ok, "nvmx_cap_value(): controls L1 chooses, EPT/VPID halves, VMFUNC whole");

	printf("1..%d\n", n);
	return failed;
}
