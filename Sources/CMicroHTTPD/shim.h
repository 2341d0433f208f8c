#ifndef CMICROHTTPD_SHIM_H
#define CMICROHTTPD_SHIM_H
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include <stdio.h>
#include <stdlib.h>

/// Receives libmicrohttpd's log messages, already formatted (Swift cannot take a va_list).
typedef void (*docstore_mhd_log_callback)(void *context, const char *message);

struct docstore_mhd_logger {
    docstore_mhd_log_callback callback;
    void *context;
};

static void docstore_mhd_format_log(void *logger, const char *format, va_list arguments)
{
    char message[512];
    vsnprintf(message, sizeof message, format, arguments);
    struct docstore_mhd_logger *target = (struct docstore_mhd_logger *)logger;
    target->callback(target->context, message);
}

/// MHD_start_daemon is variadic and does not import into Swift; this fixes its options.
static inline struct MHD_Daemon *docstore_mhd_start(
    unsigned int flags,
    const struct sockaddr *address,
    MHD_AccessHandlerCallback handler, void *handler_context,
    void *(*uri_callback)(void *context, const char *uri, struct MHD_Connection *connection),
    void *uri_context,
    MHD_RequestCompletedCallback completed, void *completed_context,
    struct docstore_mhd_logger *logger,
    unsigned int connection_limit,
    unsigned int connection_timeout_seconds,
    size_t connection_memory_limit)
{
    return MHD_start_daemon(
        flags, 0, NULL, NULL, handler, handler_context,
        MHD_OPTION_EXTERNAL_LOGGER, docstore_mhd_format_log, (void *)logger,
        MHD_OPTION_SOCK_ADDR, address,
        MHD_OPTION_URI_LOG_CALLBACK, uri_callback, uri_context,
        MHD_OPTION_NOTIFY_COMPLETED, completed, completed_context,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory_limit,
        MHD_OPTION_END);
}

/// Sends a response of unknown length without chunked framing, ended by closing the connection
/// (MHD_set_response_options is variadic and does not import into Swift).
static inline enum MHD_Result docstore_mhd_end_by_closing(struct MHD_Response *response)
{
    return MHD_set_response_options(response, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
}

/// The port the daemon listens on (useful after binding port 0), or 0.
static inline uint16_t docstore_mhd_bound_port(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}
#endif
