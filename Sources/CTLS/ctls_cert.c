/* Certificate verification failures: classification and a short description of the culprit. */
#include "ctls_cert.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

ctls_code ctls_code_for_verify_error(long verr) {
    switch (verr) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
        return CTLS_ERR_UNKNOWN_CA;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
        return CTLS_ERR_NAME_MISMATCH;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return CTLS_ERR_CERT_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return CTLS_ERR_CERT_NOT_YET_VALID;
    default:
        return CTLS_ERR_CERT_INVALID;
    }
}

static void format_time(const ASN1_TIME *t, char *out, size_t outlen) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 || strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, outlen, "an unknown date");
}

static void append(char *out, size_t outlen, const char *s) {
    size_t used = strlen(out);
    if (used + 1 < outlen) snprintf(out + used, outlen - used, "%s", s);
}

/* "IP:10.0.0.1, DNS:web1", or "no subjectAltName" */
static void describe_names(X509 *cert, char *out, size_t outlen) {
    out[0] = '\0';
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int n = names ? sk_GENERAL_NAME_num(names) : 0;
    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        char item[INET6_ADDRSTRLEN + 300];
        item[0] = '\0';
        if (gn->type == GEN_DNS) {
            const unsigned char *s = ASN1_STRING_get0_data(gn->d.dNSName);
            int len = ASN1_STRING_length(gn->d.dNSName);
            snprintf(item, sizeof(item), "DNS:%.*s", len > 253 ? 253 : len, (const char *)s);
        } else if (gn->type == GEN_IPADD) {
            const unsigned char *b = ASN1_STRING_get0_data(gn->d.iPAddress);
            int len = ASN1_STRING_length(gn->d.iPAddress);
            char ip[INET6_ADDRSTRLEN] = "?";
            if (len == 4) inet_ntop(AF_INET, b, ip, sizeof(ip));
            else if (len == 16) inet_ntop(AF_INET6, b, ip, sizeof(ip));
            snprintf(item, sizeof(item), "IP:%s", ip);
        } else {
            continue;
        }
        if (out[0] != '\0') append(out, outlen, ", ");
        append(out, outlen, item);
    }
    if (names) GENERAL_NAMES_free(names);
    if (out[0] == '\0') snprintf(out, outlen, "no subjectAltName");
}

static void describe_issuer(X509 *cert, char *out, size_t outlen) {
    out[0] = '\0';
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem == NULL) return;
    X509_NAME_print_ex(mem, X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253);
    char *data = NULL;
    long len = BIO_get_mem_data(mem, &data);
    if (len > 0) snprintf(out, outlen, "%.*s", (int)len, data);
    BIO_free(mem);
}

void ctls_record_verify_failure(X509 *cert, long verr, int depth, ctls_status *rec) {
    rec->verify_error = verr;
    rec->cert_depth = depth;
    rec->cert_time[0] = '\0';
    rec->cert_info[0] = '\0';
    if (cert == NULL) return;
    switch (ctls_code_for_verify_error(verr)) {
    case CTLS_ERR_CERT_EXPIRED:
        format_time(X509_get0_notAfter(cert), rec->cert_time, sizeof(rec->cert_time));
        break;
    case CTLS_ERR_CERT_NOT_YET_VALID:
        format_time(X509_get0_notBefore(cert), rec->cert_time, sizeof(rec->cert_time));
        break;
    case CTLS_ERR_NAME_MISMATCH:
        describe_names(cert, rec->cert_info, sizeof(rec->cert_info));
        break;
    case CTLS_ERR_UNKNOWN_CA:
        describe_issuer(cert, rec->cert_info, sizeof(rec->cert_info));
        break;
    default:
        break;
    }
}
