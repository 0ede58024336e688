/**
 * The largest frame of the stream protocols (sync, blobs): the transport refuses to write or read
 * a larger one, and a delta is bounded so that one frame carries it (context/delta-envelope.ts).
 */
export const MAX_FRAME = 8 * 1024 * 1024
