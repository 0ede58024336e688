// kv-store: a replicated string → string map (the original's first example app).
import { args, emit, returnJson, returnJsonWriter, JsonWriter, UnorderedMap, Storage } from "../../../sdk/assemblyscript/index"
import * as json from "../../../sdk/assemblyscript/json"

const items = new UnorderedMap("items")

export function init(): void {
  args().allowOnly([])
  Storage.write("kv-store:version", "1")
}

/** set(key, value): inserts or replaces; emits Inserted or Updated. */
export function set(): void {
  const a = args()
  a.allowOnly(["key", "value"])
  const key = a.requireString("key")
  const value = a.requireString("value")
  const previous = items.set(key, value)
  const data = json.object(["key", "value"], [json.str(key), json.str(value)])
  emit(previous === null ? "Inserted" : "Updated", data)
}

/** get(key) → the value or null (read-only view). */
export function get(): void {
  const a = args()
  a.allowOnly(["key"])
  returnJson(json.nullable(items.get(a.requireString("key"))))
}

/** remove(key) → the removed value or null; emits Removed when there was one. */
export function remove(): void {
  const a = args()
  a.allowOnly(["key"])
  const key = a.requireString("key")
  const previous = items.remove(key)
  if (previous !== null) emit("Removed", json.object(["key"], [json.str(key)]))
  returnJson(json.nullable(previous))
}

/**
 * entries(offset?, limit?) → {key: value, ...} ordered by key bytes (read-only view): all of them,
 * or a page. Written straight into one JSON buffer from pages of the map, so memory grows with the
 * output alone (100,000 keys fit in the default memory limit).
 */
export function entries(): void {
  const a = args()
  a.allowOnly(["offset", "limit"])
  const offset = <u64>a.optionalIndex("offset", 0)
  const limit = <u64>a.optionalIndex("limit", i64.MAX_VALUE)
  const w = new JsonWriter(4096)
  w.beginObject()
  const c = items.cursor(offset, limit)
  while (c.next()) w.memberUtf8(c.keyPtr, c.keyLen, c.valuePtr, c.valueLen)
  w.endObject()
  returnJsonWriter(w)
}

/** len() → the number of entries (read-only view). */
export function len(): void {
  args().allowOnly([])
  returnJson(items.len().toString())
}

/** clear(): removes every entry; emits Cleared. */
export function clear(): void {
  args().allowOnly([])
  items.clear()
  emit("Cleared", "")
}
