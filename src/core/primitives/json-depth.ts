/**
 * How deeply JSON values may nest where they cross a boundary (RPC params, `--args`, what an
 * application returns). V8 parses any depth, but JSON.stringify, zod and the applications' own
 * parsers recurse: 5,000 levels overflowed the stack ("Maximum call stack size exceeded", an
 * internal error) where an invalid-params error belongs.
 */
export const MAX_JSON_DEPTH = 128

/** Whether a parsed value nests deeper than `max` arrays/objects (checked without recursion). */
export function nestsDeeperThan(value: unknown, max = MAX_JSON_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length) {
    const [v, depth] = stack.pop()!
    if (depth > max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
  return false
}

/** Whether JSON text nests deeper than `max` (a scan of brackets outside strings, before parsing). */
export function textNestsDeeperThan(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}
