# SPDX-License-Identifier: ISC
# module_chain_tpm2.sh: the whole chain (ceremony, issuer, OCSP, CRL) on
# module_common.sh's "tpm2" module; the work is in module_chain.sh.
MODULE=tpm2
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/module_chain.sh"
