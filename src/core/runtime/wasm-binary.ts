import { MeroError } from '../primitives/errors.js'
import { u32Leb } from '../primitives/leb128.js'

/**
 * Just enough of the wasm binary format to find sections, read custom sections and rewrite the
 * memory limits; everything else is left to V8 (validation) and binaryen (instrumentation).
 */
export interface Section {
  id: number
  /** Offset of the section's payload and its length. */
  start: number
  size: number
  /** Offset of the section id byte (where the whole section begins) and its end. */
  headerStart: number
  end: number
  /** Custom sections only. */
  name?: string
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d]
export const SECTION_IMPORT = 2
export const SECTION_MEMORY = 5

export function readU32Leb(bytes: Uint8Array, pos: number): [value: number, next: number] {
  let result = 0
  let shift = 0
  for (let i = 0; i < 5; i++) {
    if (pos >= bytes.length) throw invalid('truncated LEB128 number')
    const b = bytes[pos++]!
    result += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) {
      if (result > 0xffffffff) throw invalid('LEB128 number out of range')
      return [result, pos]
    }
    shift += 7
  }
  throw invalid('LEB128 number too long')
}


export function isWasm(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && MAGIC.every((b, i) => bytes[i] === b)
}

export function readSections(bytes: Uint8Array): Section[] {
  if (!isWasm(bytes)) throw invalid('not a WebAssembly module (the \\0asm magic number is missing)')
  const sections: Section[] = []
  let pos = 8
  while (pos < bytes.length) {
    const headerStart = pos
    const id = bytes[pos++]!
    const [size, start] = readU32Leb(bytes, pos)
    const end = start + size
    if (end > bytes.length) throw invalid(`section ${id} runs past the end of the module`)
    const section: Section = { id, start, size, headerStart, end }
    if (id === 0) {
      const [nameLen, nameStart] = readU32Leb(bytes, start)
      if (nameStart + nameLen > end) throw invalid('custom section name runs past its section')
      section.name = Buffer.from(bytes.subarray(nameStart, nameStart + nameLen)).toString('utf8')
      section.start = nameStart + nameLen
      section.size = end - section.start
    }
    sections.push(section)
    pos = end
  }
  return sections
}

export function customSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  const found = readSections(bytes).filter((s) => s.id === 0 && s.name === name)
  if (found.length > 1) throw invalid(`the module has ${found.length} '${name}' custom sections; at most one is allowed`)
  const s = found[0]
  return s ? bytes.subarray(s.start, s.end) : undefined
}

/** Encodes a custom section (id 0) to append to a module. */
export function encodeCustomSection(name: string, payload: Uint8Array): Uint8Array {
  const nameBytes = Buffer.from(name, 'utf8')
  const body = Buffer.concat([Buffer.from(u32Leb(nameBytes.length)), nameBytes, payload])
  return Buffer.concat([Buffer.from([0]), Buffer.from(u32Leb(body.length)), body])
}

export interface MemoryLimits {
  initial: number
  maximum?: number
}

/** The defined memory's limits; throws for multi-memory, shared or 64-bit memories. */
export function readMemoryLimits(bytes: Uint8Array): MemoryLimits | undefined {
  const s = readSections(bytes).find((x) => x.id === SECTION_MEMORY)
  if (!s) return undefined
  return parseMemorySection(bytes, s).limits
}

function parseMemorySection(bytes: Uint8Array, s: Section): { limits: MemoryLimits } {
  let [count, pos] = readU32Leb(bytes, s.start)
  if (count !== 1) throw invalid(`the module defines ${count} memories; exactly one is supported`)
  const flags = bytes[pos++]!
  if (flags & 0x02) throw invalid('shared memory is not supported')
  if (flags & ~0x01) throw invalid('64-bit or custom-page memories are not supported')
  let initial: number
  ;[initial, pos] = readU32Leb(bytes, pos)
  let maximum: number | undefined
  if (flags & 0x01) [maximum, pos] = readU32Leb(bytes, pos)
  if (pos !== s.end) throw invalid('malformed memory section')
  return { limits: maximum === undefined ? { initial } : { initial, maximum } }
}

/** Returns a copy of the module whose memory maximum is at most `maxPages`. */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  const s = readSections(bytes).find((x) => x.id === SECTION_MEMORY)
  if (!s) throw invalid('the module defines no memory')
  const { limits } = parseMemorySection(bytes, s)
  if (limits.initial > maxPages) {
    throw new MeroError('InvalidModule', `the module's memory starts at ${limits.initial} pages, more than the limit of ${maxPages} pages`)
  }
  const maximum = Math.min(limits.maximum ?? maxPages, maxPages)
  const payload = [...u32Leb(1), 0x01, ...u32Leb(limits.initial), ...u32Leb(maximum)]
  const section = [SECTION_MEMORY, ...u32Leb(payload.length), ...payload]
  return Buffer.concat([bytes.subarray(0, s.headerStart), Buffer.from(section), bytes.subarray(s.end)])
}

/**
 * Returns a copy of the module whose memory is imported as `module`.`name` instead of defined:
 * the memory section's one memory becomes the last import (it stays memory 0, so exports and
 * data segments are unchanged). The runtime then instantiates each call with a zeroed memory of
 * exactly these limits from its pool instead of mapping a new one.
 */
export function importMemory(bytes: Uint8Array, module: string, name: string): { bytes: Uint8Array; limits: MemoryLimits } {
  const sections = readSections(bytes)
  const mem = sections.find((x) => x.id === SECTION_MEMORY)
  if (!mem) throw invalid('the module defines no memory')
  const { limits } = parseMemorySection(bytes, mem)
  const imp = sections.find((x) => x.id === SECTION_IMPORT)
  const str = (t: string) => {
    const b = Buffer.from(t, 'utf8')
    return [...u32Leb(b.length), ...b]
  }
  const limitBytes = limits.maximum === undefined ? [0x00, ...u32Leb(limits.initial)] : [0x01, ...u32Leb(limits.initial), ...u32Leb(limits.maximum)]
  const entry = Buffer.from([...str(module), ...str(name), 0x02, ...limitBytes])
  let count = 0
  let entries: Uint8Array = new Uint8Array(0)
  if (imp) {
    let pos: number
    ;[count, pos] = readU32Leb(bytes, imp.start)
    entries = bytes.subarray(pos, imp.end)
  }
  const payload = Buffer.concat([Buffer.from(u32Leb(count + 1)), entries, entry])
  const importSection = Buffer.concat([Buffer.from([SECTION_IMPORT, ...u32Leb(payload.length)]), payload])
  // the import section precedes the memory section; a module without imports gets one where it
  // belongs: after the type section (id 1) and any custom sections before the first later one
  const parts: Uint8Array[] = []
  let pos = 8
  let placed = false
  parts.push(bytes.subarray(0, 8))
  for (const s of sections) {
    if (!placed && !imp && s.id !== 0 && s.id !== 1) {
      parts.push(importSection)
      placed = true
    }
    if (s === imp) {
      parts.push(importSection)
      placed = true
    } else if (s !== mem) {
      parts.push(bytes.subarray(s.headerStart, s.end))
    }
    pos = s.end
  }
  if (!placed) parts.push(importSection)
  if (pos !== bytes.length) throw invalid('trailing bytes after the last section')
  return { bytes: Buffer.concat(parts), limits }
}

function invalid(message: string): MeroError {
  return new MeroError('InvalidModule', message)
}
