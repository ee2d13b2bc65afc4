/* Private: certificate verification failures (see ctls_cert.c). */
#ifndef CTLS_CERT_H
#define CTLS_CERT_H

#include <openssl/x509.h>
#include "ctls.h"

/* Maps an X509_V_ERR_* to a ctls_code (CTLS_ERR_CERT_INVALID for the rest). */
ctls_code ctls_code_for_verify_error(long verr);

/* Records verify_error, cert_depth, and cert_time / cert_info for the failing certificate. */
void ctls_record_verify_failure(X509 *cert, long verr, int depth, ctls_status *rec);

#endif
