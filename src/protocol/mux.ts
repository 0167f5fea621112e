/**
 * Multiplexed data connections (yamux streams, one per visitor, over a few long-lived data
 * connections). Both sides use the same figures.
 */

/** Receive window per stream: 256 KB (yamux's default) caps one stream at 256 KB per event-loop turn
 * of the peer; 2 MB keeps a bulk transfer going while costing nothing on idle streams. */
export const MUX_WINDOW = 2 * 1024 * 1024;

/** Streams one multiplexed connection may carry: above the 10,000 visitors one tunnel must hold. */
export const MUX_MAX_STREAMS = 65_536;

/** Multiplexed data connections a client keeps open per session. One: a second one costs each idle
 * client ~25 KB on the host, and while a lost one is reopened visitors fall back to raw connections. */
export const MUX_CONNECTIONS = 1;
