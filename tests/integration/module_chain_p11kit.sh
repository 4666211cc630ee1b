# SPDX-License-Identifier: ISC
# module_chain_p11kit.sh: the whole chain (ceremony, issuer, OCSP, CRL) on
# module_common.sh's "p11kit" module; the work is in module_chain.sh.
MODULE=p11kit
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/module_chain.sh"
