# SPDX-License-Identifier: ISC
# module_chain_softhsm.sh: the whole chain (ceremony, issuer, OCSP, CRL) on
# module_common.sh's "softhsm" module; the work is in module_chain.sh.
MODULE=softhsm
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/module_chain.sh"
