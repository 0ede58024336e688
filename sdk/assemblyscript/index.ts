// The mero AssemblyScript SDK. Build apps with `--runtime stub --use abort=sdk/assemblyscript/host/abortHandler`
// (scripts/build-apps.mjs does), then each exported `function name(): void` is a method.
import { inputBytes, fromUtf8 } from "./host"
import { JSONValue, parse } from "./json"

export * from "./host"
export * from "./collections"
export { Bytes, JsonWriter, returnJsonWriter } from "./bytes"
export { toBase58, fromBase58 } from "./base58"
export { JSONValue, JSONKind, parse, str, object, array, nullable } from "./json"

/** The call's JSON arguments (an empty object when there are none). */
export function args(): JSONValue {
  return parse(fromUtf8(inputBytes()))
}
