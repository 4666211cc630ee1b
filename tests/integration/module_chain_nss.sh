# SPDX-License-Identifier: ISC
# module_chain_nss.sh: the whole chain (ceremony, issuer, OCSP, CRL) on
# module_common.sh's "nss" module; the work is in module_chain.sh.
MODULE=nss
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/module_chain.sh"
