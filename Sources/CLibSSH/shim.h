#ifndef SWOCK_CLIBSSH_SHIM_H
#define SWOCK_CLIBSSH_SHIM_H
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <libssh/callbacks.h>
#include <libssh/server.h> /* ssh_send_keepalive is declared here; it works for clients */
#endif
