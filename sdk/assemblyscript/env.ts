// Raw host imports (module "env"). Pointers, lengths, register ids and indices are u64; a `buf`
// argument is the address of a 16-byte Buffer struct {ptr: u64, len: u64}. See README.md.

// control and registers
@external("env", "panic") export declare function panic(loc: u64): void
@external("env", "panic_utf8") export declare function panic_utf8(msg: u64, loc: u64): void
@external("env", "register_len") export declare function register_len(reg: u64): u64
@external("env", "read_register") export declare function read_register(reg: u64, dst: u64): u32
@external("env", "input") export declare function input(reg: u64): void
@external("env", "value_return") export declare function value_return(valueReturn: u64): void
@external("env", "log_utf8") export declare function log_utf8(buf: u64): void
@external("env", "emit") export declare function emit(event: u64): void
@external("env", "context_id") export declare function context_id(reg: u64): void
@external("env", "executor_id") export declare function executor_id(reg: u64): void
@external("env", "time_now") export declare function time_now(buf: u64): void
@external("env", "random_bytes") export declare function random_bytes(buf: u64): void

// root-level last-writer-wins registers
@external("env", "storage_read") export declare function storage_read(key: u64, reg: u64): u32
@external("env", "storage_write") export declare function storage_write(key: u64, value: u64, reg: u64): u32
@external("env", "storage_remove") export declare function storage_remove(key: u64, reg: u64): u32

// maps
@external("env", "map_get") export declare function map_get(name: u64, key: u64, reg: u64): u32
@external("env", "map_insert") export declare function map_insert(name: u64, key: u64, value: u64, reg: u64): u32
@external("env", "map_remove") export declare function map_remove(name: u64, key: u64, reg: u64): u32
@external("env", "map_contains") export declare function map_contains(name: u64, key: u64): u32
@external("env", "map_len") export declare function map_len(name: u64): u64
@external("env", "map_entries") export declare function map_entries(name: u64, reg: u64): u64
@external("env", "map_clear") export declare function map_clear(name: u64): u64

// sets
@external("env", "set_add") export declare function set_add(name: u64, value: u64): u32
@external("env", "set_remove") export declare function set_remove(name: u64, value: u64): u32
@external("env", "set_contains") export declare function set_contains(name: u64, value: u64): u32
@external("env", "set_len") export declare function set_len(name: u64): u64
@external("env", "set_values") export declare function set_values(name: u64, reg: u64): u64

// counters
@external("env", "counter_add") export declare function counter_add(name: u64, delta: i64): i64
@external("env", "counter_value") export declare function counter_value(name: u64): i64

// vectors
@external("env", "vector_push") export declare function vector_push(name: u64, value: u64): u64
@external("env", "vector_get") export declare function vector_get(name: u64, index: u64, reg: u64): u32
@external("env", "vector_set") export declare function vector_set(name: u64, index: u64, value: u64, reg: u64): u32
@external("env", "vector_pop") export declare function vector_pop(name: u64, reg: u64): u32
@external("env", "vector_len") export declare function vector_len(name: u64): u64

// pages of maps and sets in key order: lo, hi (Buffer structs; empty = unbounded), offset, limit, flags (1 = reverse)
@external("env", "map_scan") export declare function map_scan(name: u64, lo: u64, hi: u64, offset: u64, limit: u64, flags: u64, reg: u64): u64
@external("env", "set_scan") export declare function set_scan(name: u64, lo: u64, hi: u64, offset: u64, limit: u64, flags: u64, reg: u64): u64

// sorted maps and sets
@external("env", "sorted_map_get") export declare function sorted_map_get(name: u64, key: u64, reg: u64): u32
@external("env", "sorted_map_insert") export declare function sorted_map_insert(name: u64, key: u64, value: u64, reg: u64): u32
@external("env", "sorted_map_remove") export declare function sorted_map_remove(name: u64, key: u64, reg: u64): u32
@external("env", "sorted_map_contains") export declare function sorted_map_contains(name: u64, key: u64): u32
@external("env", "sorted_map_len") export declare function sorted_map_len(name: u64): u64
@external("env", "sorted_map_scan") export declare function sorted_map_scan(name: u64, lo: u64, hi: u64, offset: u64, limit: u64, flags: u64, reg: u64): u64
@external("env", "sorted_set_add") export declare function sorted_set_add(name: u64, value: u64): u32
@external("env", "sorted_set_remove") export declare function sorted_set_remove(name: u64, value: u64): u32
@external("env", "sorted_set_contains") export declare function sorted_set_contains(name: u64, value: u64): u32
@external("env", "sorted_set_len") export declare function sorted_set_len(name: u64): u64
@external("env", "sorted_set_scan") export declare function sorted_set_scan(name: u64, lo: u64, hi: u64, offset: u64, limit: u64, flags: u64, reg: u64): u64

// named last-writer-wins registers
@external("env", "register_get") export declare function register_get(name: u64, reg: u64): u32
@external("env", "register_set") export declare function register_set(name: u64, value: u64, reg: u64): u32
@external("env", "register_clear") export declare function register_clear(name: u64, reg: u64): u32

// grow-only counters
@external("env", "gcounter_increment") export declare function gcounter_increment(name: u64, by: u64): u64
@external("env", "gcounter_value") export declare function gcounter_value(name: u64): u64

// texts (RGA), positions in code points
@external("env", "text_insert") export declare function text_insert(name: u64, pos: u64, text: u64): u64
@external("env", "text_delete") export declare function text_delete(name: u64, pos: u64, count: u64): u64
@external("env", "text_len") export declare function text_len(name: u64): u64
@external("env", "text_read") export declare function text_read(name: u64, start: u64, end: u64, reg: u64): u64

// node-local private storage (never replicated)
@external("env", "private_storage_read") export declare function private_storage_read(key: u64, reg: u64): u32
@external("env", "private_storage_write") export declare function private_storage_write(key: u64, value: u64, reg: u64): u32
@external("env", "private_storage_remove") export declare function private_storage_remove(key: u64, reg: u64): u32

// blobs: shares a blob this node holds with the context's members; its size, or u64::MAX when this node lacks it
@external("env", "blob_announce_to_context") export declare function blob_announce_to_context(id: u64): u64
