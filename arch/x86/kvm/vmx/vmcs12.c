// SPDX-License-Identifier: GPL-2.0
/*
 * nvmx: the one instance of the vmcs12 field table in kvm-intel.ko,
 * nvmx_fields[] and the VMREAD/VMWRITE lookup nvmx_vmcs12_field(), both
 * generated from the rows of <nvmx/vmcs12_rows.h>.
 */
#include "vmcs12.h"

#include <nvmx/vmcs12_table.h>
