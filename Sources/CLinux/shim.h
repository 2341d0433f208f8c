#ifndef CLINUX_SHIM_H
#define CLINUX_SHIM_H
/// Linux's event interfaces and glibc's heap control, which Glibc's Swift module leaves out.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <malloc.h>
#endif
