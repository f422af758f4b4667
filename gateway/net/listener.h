/*
 * listener: binding listening sockets. Each worker gets its own socket per configured
 * address, all bound with SO_REUSEPORT to the same port so the kernel spreads connections
 * across workers without a shared accept lock. Port 0 is resolved once (by the first bind)
 * and the remaining sockets bind to that concrete port. Runs on the main thread at start-up.
 */
#ifndef WARDEN_NET_LISTENER_H
#define WARDEN_NET_LISTENER_H

#include <stddef.h>

/*
 * Bind a non-blocking listening socket to address ("host:port", "[v6]:port"); when *port_io is
 * non-zero it overrides the port (used for the sibling sockets of a port-0 listener). On
 * success returns the fd and stores the bound port in *port_io; on error returns -1 and
 * describes the failure in err.
 */
int listener_bind(const char *address, int *port_io, char *err, size_t errlen);

#endif
