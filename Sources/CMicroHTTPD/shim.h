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

/// MHD_start_daemon is variadic and does not import into Swift; this fixes its options. The daemon
/// accepts on `listen_socket`, which the caller made and which several daemons may share.
static inline struct MHD_Daemon *docstore_mhd_start(
    unsigned int flags,
    int listen_socket,
    MHD_AccessHandlerCallback handler, void *handler_context,
    void *(*uri_callback)(void *context, const char *uri, struct MHD_Connection *connection),
    void *uri_context,
    MHD_RequestCompletedCallback completed, void *completed_context,
    struct docstore_mhd_logger *logger,
    unsigned int connection_limit,
    unsigned int connection_limit_per_address,
    unsigned int connection_timeout_seconds,
    size_t connection_memory_limit)
{
    return MHD_start_daemon(
        flags, 0, NULL, NULL, handler, handler_context,
        MHD_OPTION_EXTERNAL_LOGGER, docstore_mhd_format_log, (void *)logger,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_socket,
        MHD_OPTION_URI_LOG_CALLBACK, uri_callback, uri_context,
        MHD_OPTION_NOTIFY_COMPLETED, completed, completed_context,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, connection_limit_per_address,
        MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory_limit,
        MHD_OPTION_END);
}

/// The epoll descriptor of a daemon started with MHD_USE_EPOLL, for the caller's own loop; -1 if none.
static inline int docstore_mhd_epoll_fd(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return info == NULL ? -1 : info->epoll_fd;
}

/// The connections the daemon has open now (MHD_get_daemon_info is variadic and does not import into Swift).
static inline unsigned int docstore_mhd_connections(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info == NULL ? 0 : info->num_connections;
}

/// The socket of a connection, or -1 (MHD_get_connection_info is variadic and does not import into Swift).
static inline int docstore_mhd_connection_fd(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : info->connect_fd;
}

/// How long, in milliseconds, the caller's loop may wait before it must run the daemon again: at most
/// `cap`, and `cap` when no connection has a deadline.
static inline int docstore_mhd_timeout_ms(struct MHD_Daemon *daemon, int cap)
{
    MHD_UNSIGNED_LONG_LONG timeout = 0;
    if (MHD_get_timeout(daemon, &timeout) != MHD_YES || timeout > (MHD_UNSIGNED_LONG_LONG)cap)
        return cap;
    return (int)timeout;
}

/// Sends a response of unknown length without chunked framing, ended by closing the connection
/// (MHD_set_response_options is variadic and does not import into Swift).
static inline enum MHD_Result docstore_mhd_end_by_closing(struct MHD_Response *response)
{
    return MHD_set_response_options(response, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
}

#endif
