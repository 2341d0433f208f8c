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
#include <string.h>

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

/// Where the walk over a request's header lines has got to: just past the last line's content.
struct docstore_mhd_line_walk {
    const char *line_end;
    int whole;
};

/// Whether [from, to) is one line ending as libmicrohttpd 0.9.75 leaves it: CR LF or a bare LF,
/// overwritten with NULs.
static inline int docstore_mhd_is_line_ending(const char *from, const char *to)
{
    ptrdiff_t length = to - from;
    if (length < 1 || length > 2)
        return 0;
    for (const char *byte = from; byte < to; byte++)
        if (*byte != '\0')
            return 0;
    return 1;
}

static enum MHD_Result docstore_mhd_check_header_line(
    void *context, enum MHD_ValueKind kind,
    const char *name, size_t name_size, const char *value, size_t value_size)
{
    (void)kind;
    (void)name_size;
    struct docstore_mhd_line_walk *walk = (struct docstore_mhd_line_walk *)context;
    if (value == NULL || !docstore_mhd_is_line_ending(walk->line_end, name)) {
        walk->whole = 0;
        return MHD_NO;
    }
    walk->line_end = value + value_size;
    return MHD_YES;
}

/// Whether every header line reached the caller whole. libmicrohttpd 0.9.75 reads a header value as a
/// C string, so a NUL in it cuts it short (`X: a<NUL>b` reads as `a`). It parses the head in place, line
/// after line in one buffer, so each header's name must start right after the previous line's content
/// and its line ending; anything else between them is a NUL and what followed it, or a folded line
/// (obsolete in HTTP/1.1). `method` and `version` are the ones libmicrohttpd passed to the handler. A
/// NUL just before a bare LF cannot be told from a CR and is lost with nothing after it.
static inline int docstore_mhd_header_lines_are_whole(
    struct MHD_Connection *connection, const char *method, const char *version)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (info == NULL || method == NULL || version == NULL)
        return 0;
    struct docstore_mhd_line_walk walk = { version + strlen(version), 1 };
    MHD_get_connection_values_n(connection, MHD_HEADER_KIND, docstore_mhd_check_header_line, &walk);
    if (!walk.whole)
        return 0;
    /* The last line's ending, then the empty line that ends the head. */
    const char *head_end = method + info->header_size;
    ptrdiff_t rest = head_end - walk.line_end;
    if (rest < 2 || rest > 4)
        return 0;
    for (const char *byte = walk.line_end; byte < head_end; byte++)
        if (*byte != '\0')
            return 0;
    return 1;
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
