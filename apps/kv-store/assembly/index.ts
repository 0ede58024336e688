// kv-store: a replicated string → string map (the original's first example app).
import { args, emit, returnJson, UnorderedMap, Storage } from "../../../sdk/assemblyscript/index"
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

/** entries() → {key: value, ...} ordered by key bytes (read-only view). */
export function entries(): void {
  args().allowOnly([])
  const all = items.entries()
  const keys = new Array<string>()
  const values = new Array<string>()
  for (let i = 0; i < all.length; i++) {
    keys.push(all[i].key)
    values.push(json.str(all[i].value))
  }
  returnJson(json.object(keys, values))
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
