/**
 * The host ABI: every function a guest may import from module "env", with its wasm signature.
 * Modelled on the original's ABI (reference/original-runtime-and-sync.md §1): pointers, lengths,
 * register ids and indices are i64 holding a u64; a "buf" argument is a pointer to a 16-byte
 * Buffer struct {ptr: u64, len: u64} in guest memory. The table in docs/sdk.md
 * documents the meaning of each; keep the two in step.
 */
export type WasmValType = 'i32' | 'i64'

export interface HostFunctionSignature {
  params: readonly WasmValType[]
  results: readonly WasmValType[]
  /** Changes state (refused in read-only views). */
  writes?: boolean
}

const I = 'i64' as const
const i = 'i32' as const
const sig = (params: WasmValType[], results: WasmValType[] = [], writes = false): HostFunctionSignature => ({ params, results, ...(writes ? { writes } : {}) })

export const HOST_ABI: Readonly<Record<string, HostFunctionSignature>> = Object.freeze({
  // control and registers
  panic: sig([I]),
  panic_utf8: sig([I, I]),
  register_len: sig([I], [I]),
  read_register: sig([I, I], [i]),
  input: sig([I]),
  value_return: sig([I]),
  log_utf8: sig([I]),
  emit: sig([I], [], true),
  context_id: sig([I]),
  executor_id: sig([I]),
  time_now: sig([I]),
  random_bytes: sig([I]),
  // root-level last-writer-wins registers
  storage_read: sig([I, I], [i]),
  storage_write: sig([I, I, I], [i], true),
  storage_remove: sig([I, I], [i], true),
  // maps
  map_get: sig([I, I, I], [i]),
  map_insert: sig([I, I, I, I], [i], true),
  map_remove: sig([I, I, I], [i], true),
  map_contains: sig([I, I], [i]),
  map_len: sig([I], [I]),
  map_entries: sig([I, I], [I]),
  map_clear: sig([I], [I], true),
  // sets
  set_add: sig([I, I], [i], true),
  set_remove: sig([I, I], [i], true),
  set_contains: sig([I, I], [i]),
  set_len: sig([I], [I]),
  set_values: sig([I, I], [I]),
  // counters
  counter_add: sig([I, I], [I], true),
  counter_value: sig([I], [I]),
  // vectors
  vector_push: sig([I, I], [I], true),
  vector_get: sig([I, I, I], [i]),
  vector_set: sig([I, I, I, I], [i], true),
  vector_pop: sig([I, I], [i], true),
  vector_len: sig([I], [I]),
  // pages of maps and sets in key order: name, lo buf, hi buf, offset, limit, flags (1 = reverse), reg
  map_scan: sig([I, I, I, I, I, I, I], [I]),
  set_scan: sig([I, I, I, I, I, I, I], [I]),
  // sorted maps and sets
  sorted_map_get: sig([I, I, I], [i]),
  sorted_map_insert: sig([I, I, I, I], [i], true),
  sorted_map_remove: sig([I, I, I], [i], true),
  sorted_map_contains: sig([I, I], [i]),
  sorted_map_len: sig([I], [I]),
  sorted_map_scan: sig([I, I, I, I, I, I, I], [I]),
  sorted_set_add: sig([I, I], [i], true),
  sorted_set_remove: sig([I, I], [i], true),
  sorted_set_contains: sig([I, I], [i]),
  sorted_set_len: sig([I], [I]),
  sorted_set_scan: sig([I, I, I, I, I, I, I], [I]),
  // named last-writer-wins registers
  register_get: sig([I, I], [i]),
  register_set: sig([I, I, I], [i], true),
  register_clear: sig([I, I], [i], true),
  // grow-only counters
  gcounter_increment: sig([I, I], [I], true),
  gcounter_value: sig([I], [I]),
  // texts (RGA), positions in code points
  text_insert: sig([I, I, I], [I], true),
  text_delete: sig([I, I, I], [I], true),
  text_len: sig([I], [I]),
  text_read: sig([I, I, I, I], [I]),
  // node-local private storage (never replicated)
  private_storage_read: sig([I, I], [i]),
  private_storage_write: sig([I, I, I], [i], true),
  private_storage_remove: sig([I, I], [i], true),
  // blobs: shares a blob this node holds with the context's members (id: a buf of exactly 32 bytes)
  blob_announce_to_context: sig([I], [I], true),
})

export const HOST_MODULE = 'env'

/** Import module of the metering globals added by the instrumentation (never in an app's own imports). */
export const METER_MODULE = 'mero_meter'
export const METER_GAS = 'gas'
export const METER_GROW_DENIED = 'grow_denied'
/** The instrumented module imports its memory from here; the runtime supplies a zeroed one per call. */
export const METER_MEMORY = 'memory'
