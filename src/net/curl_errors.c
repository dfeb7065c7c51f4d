/* curl_errors: the class, transience and detail of a libcurl result (see
 * curl_errors.h). */
#include "curl_errors.h"

curlerr_class_t curlerr_class(CURLcode r)
{
    switch (r) {
    case CURLE_OK:
        return CURLERR_NONE;
    case CURLE_GOT_NOTHING:  /* closed before any response */
    case CURLE_PARTIAL_FILE: /* a body without its end (last chunk, length) */
        return CURLERR_CLOSED;
    case CURLE_COULDNT_CONNECT:
        return CURLERR_CONNECT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        return CURLERR_IO;
    case CURLE_OPERATION_TIMEDOUT:
        return CURLERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CLIENTCERT:
        return CURLERR_TLS;
    case CURLE_WEIRD_SERVER_REPLY:
        return CURLERR_NOT_HTTP;
    case CURLE_HTTP2:
        return CURLERR_HTTP2;
    case CURLE_HTTP2_STREAM:
        return CURLERR_HTTP2_STREAM;
    default:
        return CURLERR_OTHER;
    }
}

bool curlerr_transient(CURLcode r)
{
    switch (curlerr_class(r)) {
    case CURLERR_CLOSED:
    case CURLERR_CONNECT:
    case CURLERR_IO:
    case CURLERR_TIMEOUT:
    case CURLERR_HTTP2:
    case CURLERR_HTTP2_STREAM:
        return true;
    case CURLERR_NONE:
    case CURLERR_TLS:
    case CURLERR_NOT_HTTP:
    case CURLERR_OTHER:
        break;
    }
    return false;
}

const char *curlerr_detail(CURLcode r, const char *errbuf)
{
    return errbuf && errbuf[0] ? errbuf : curl_easy_strerror(r);
}
