// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_features_test: kvm_intel's nested_features parameter against the
 * VMX capability MSRs that KVM reports.
 *
 * /sys/module/kvm_intel/parameters/nested_features has one line per
 * capability field, "label: NAME...".  For every field of
 * include/nvmx/vmx_caps.h, the bits its line names must be exactly the
 * bits of the field's value in the MSR as KVM_GET_MSRS on the system fd
 * reports it (the feature MSRs: what any vCPU starts from), names turned
 * into bits by the same table the module prints with ("bitN" for a bit
 * without a name).  Every label must appear once, and no other.
 *
 * The stock kvm-intel.ko has no such parameter: the test skips there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"

#include <nvmx/vmx_caps.h>

#define PARAM_DIR	"/sys/module/kvm_intel/parameters/"
#define MAX_TEXT	8192

static char text[MAX_TEXT];

/* The file's contents into text[]; false when it does not exist. */
static bool read_param(const char *name)
{
	FILE *f = fopen(name, "r");
	size_t n;

	if (!f) {
		TEST_ASSERT(errno == ENOENT, "cannot open %s: errno %d", name, errno);
		return false;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	TEST_ASSERT(!ferror(f), "cannot read %s", name);
	text[n] = 0;
	fclose(f);
	return true;
}

/* Bit of field @f that @name names (a table name or "bitN"), or -1. */
static int name_to_bit(enum nvmx_cap_field f, const char *name)
{
	unsigned int i, bit;
	char end;

	for (i = 0; i < ARRAY_SIZE(nvmx_cap_names); i++)
		if (nvmx_cap_names[i].field == f &&
		    !strcmp(nvmx_cap_names[i].name, name))
			return nvmx_cap_names[i].bit;
	if (sscanf(name, "bit%u%c", &bit, &end) == 1 && bit < 64 &&
	    !nvmx_cap_name(f, bit))
		return bit;
	return -1;
}

/* The names of @bits of field @f, for a message. */
static const char *names_of(enum nvmx_cap_field f, u64 bits)
{
	static char out[1024];
	unsigned int bit;
	size_t len = 0;

	out[0] = 0;
	for (bit = 0; bit < 64 && len < sizeof(out); bit++) {
		const char *name = nvmx_cap_name(f, bit);

		if (!(bits & (1ULL << bit)))
			continue;
		if (name)
			len += snprintf(out + len, sizeof(out) - len, " %s", name);
		else
			len += snprintf(out + len, sizeof(out) - len, " bit%u", bit);
	}
	return out;
}

/*
 * Check the line of field @f in the parameter's text against @msr: returns
 * whether the line exists once and names exactly the field's bits.
 */
static bool check_field(enum nvmx_cap_field f, u64 msr)
{
	const char *label = nvmx_cap_fields[f].label;
	u64 want = nvmx_cap_value(f, msr), got = 0;
	char copy[MAX_TEXT], *line, *save, *tok, *tsave;
	bool ok = true;
	int lines = 0;

	strcpy(copy, text);
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(label);

		if (strncmp(line, label, l) || line[l] != ':')
			continue;
		lines++;
		for (tok = strtok_r(line + l + 1, " ", &tsave); tok;
		     tok = strtok_r(NULL, " ", &tsave)) {
			int bit = name_to_bit(f, tok);

			if (bit < 0) {
				ksft_print_msg("%s: unknown name \"%s\"\n", label, tok);
				ok = false;
				continue;
			}
			if (got & (1ULL << bit)) {
				ksft_print_msg("%s: \"%s\" named twice\n", label, tok);
				ok = false;
			}
			got |= 1ULL << bit;
		}
	}
	if (lines != 1) {
		ksft_print_msg("%s: %d lines, expected 1\n", label, lines);
		return false;
	}
	if (got != want) {
		ksft_print_msg("%s: MSR %#x is %#llx: field %#llx, named %#llx\n",
			       label, nvmx_cap_fields[f].msr,
			       (unsigned long long)msr, (unsigned long long)want,
			       (unsigned long long)got);
		ksft_print_msg("%s: missing:%s\n", label, names_of(f, want & ~got));
		ksft_print_msg("%s: not offered:%s\n", label, names_of(f, got & ~want));
		ok = false;
	}
	return ok;
}

/* Every line's label is a field's. */
static bool check_labels(void)
{
	char copy[MAX_TEXT], *line, *save, *colon;
	unsigned int f;
	bool ok = true;

	strcpy(copy, text);
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		colon = strchr(line, ':');
		for (f = 0; colon && f < NVMX_NR_CAP_FIELDS; f++)
			if (strlen(nvmx_cap_fields[f].label) == (size_t)(colon - line) &&
			    !strncmp(line, nvmx_cap_fields[f].label, colon - line))
				break;
		if (!colon || f == NVMX_NR_CAP_FIELDS) {
			ksft_print_msg("a line of no field: \"%s\"\n", line);
			ok = false;
		}
	}
	return ok;
}

int main(int argc, char *argv[])
{
	unsigned int f;
	char *line, *save;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(read_param(PARAM_DIR "nested") && text[0] == 'Y');
	if (!read_param(PARAM_DIR "nested_features"))
		ksft_exit_skip("kvm_intel has no nested_features parameter (not nvmx's module)\n");

	ksft_print_header();
	ksft_set_plan(NVMX_NR_CAP_FIELDS + 1);
	for (line = strtok_r(strdup(text), "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		ksft_print_msg("nested_features: %s\n", line);

	for (f = 0; f < NVMX_NR_CAP_FIELDS; f++) {
		u64 msr = kvm_get_feature_msr(nvmx_cap_fields[f].msr);

		ksft_test_result(check_field(f, msr), "%s: the bits of MSR %#x\n",
				 nvmx_cap_fields[f].label, nvmx_cap_fields[f].msr);
	}
	ksft_test_result(check_labels(), "no line of another field\n");
	ksft_finished();
}
