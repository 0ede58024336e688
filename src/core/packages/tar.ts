import { MeroError } from '../primitives/errors.js'

/**
 * A small, strict reader and writer of ustar archives (POSIX.1-1988 as npm and GNU tar write it),
 * for application bundles. The reader takes regular files and directories only: a symbolic or
 * hard link, a device, a FIFO, a PAX or GNU extension header, an absolute path, a `..` or empty
 * path component, a backslash or a NUL, a duplicate path, a bad header checksum or a truncated
 * archive is refused with an error that names it. Nothing is written anywhere: the files come
 * back in memory, bounded by `maxFiles` and `maxBytes`.
 */
export interface TarLimits {
  maxFiles: number
  /** Sum of the files' sizes. */
  maxBytes: number
}

const BLOCK = 512
const REGULAR = new Set(['0', '\0'])
const DIRECTORY = '5'
const TYPE_NAMES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a FIFO',
  '7': 'a contiguous file',
  x: 'a PAX extended header',
  g: 'a PAX global header',
  L: 'a GNU long name',
  K: 'a GNU long link name',
}

const bad = (message: string) => new MeroError('InvalidPackage', `the bundle's archive is invalid: ${message}`)

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length)
  const end = raw.indexOf(0)
  return raw.subarray(0, end < 0 ? length : end).toString('utf8')
}

function octal(header: Buffer, offset: number, length: number, what: string): number {
  const text = field(header, offset, length).trim()
  if (text === '') return 0
  if (!/^[0-7]+$/.test(text)) throw bad(`the ${what} field of an entry is not an octal number`)
  const n = Number.parseInt(text, 8)
  if (!Number.isSafeInteger(n)) throw bad(`the ${what} field of an entry is out of range`)
  return n
}

/** The path as the archive names it, checked and normalised (no leading "./", no trailing "/"). */
export function checkPath(raw: string): string {
  if (raw.length === 0) throw bad('an entry has an empty name')
  if (raw.includes('\0') || raw.includes('\\')) throw bad(`entry '${raw}' has a NUL or a backslash in its name`)
  if (raw.startsWith('/')) throw bad(`entry '${raw}' has an absolute path`)
  const parts = raw.replace(/\/+$/, '').split('/')
  if (parts[0] === '.') parts.shift()
  if (parts.length === 0) throw bad(`entry '${raw}' names the archive's root`)
  for (const p of parts) {
    if (p === '..') throw bad(`entry '${raw}' points outside the archive ('..')`)
    if (p === '' || p === '.') throw bad(`entry '${raw}' has an empty or '.' path component`)
  }
  return parts.join('/')
}

export function readTar(bytes: Uint8Array, limits: TarLimits): Map<string, Buffer> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const files = new Map<string, Buffer>()
  const seen = new Set<string>()
  let total = 0
  let at = 0
  for (;;) {
    if (at + BLOCK > buf.length) throw bad('it ends without the two empty blocks that close an archive')
    const header = buf.subarray(at, at + BLOCK)
    if (header.every((b) => b === 0)) break // end of archive (the second empty block and any padding follow)
    const stored = octal(header, 148, 8, 'checksum')
    let sum = 0
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!
    if (sum !== stored) throw bad(`the header at offset ${at} has a bad checksum`)
    const magic = header.subarray(257, 263).toString('latin1')
    if (magic !== 'ustar\0' && magic !== 'ustar ') throw bad(`the header at offset ${at} is not a ustar header`)
    const prefix = magic === 'ustar\0' ? field(header, 345, 155) : ''
    const name = field(header, 0, 100)
    const path = checkPath(prefix ? `${prefix}/${name}` : name)
    const type = String.fromCharCode(header[156]!)
    const size = octal(header, 124, 12, 'size')
    at += BLOCK
    if (type === DIRECTORY) {
      if (size !== 0) throw bad(`directory '${path}' has a size`)
      continue
    }
    if (!REGULAR.has(type)) throw bad(`entry '${path}' is ${TYPE_NAMES[type] ?? `of type '${type}'`}; a bundle holds regular files only`)
    if (seen.has(path)) throw bad(`entry '${path}' appears twice`)
    seen.add(path)
    if (files.size >= limits.maxFiles) throw bad(`it holds more than ${limits.maxFiles} files`)
    total += size
    if (total > limits.maxBytes) throw bad(`its files hold more than ${limits.maxBytes} bytes`)
    if (at + size > buf.length) throw bad(`entry '${path}' is truncated`)
    files.set(path, Buffer.from(buf.subarray(at, at + size)))
    at += Math.ceil(size / BLOCK) * BLOCK
  }
  return files
}

/** A deterministic ustar archive of regular files (mode 0644, owner 0, mtime 0), in the given order. */
export function writeTar(files: readonly { path: string; data: Uint8Array }[]): Buffer {
  const parts: Buffer[] = []
  for (const f of files) {
    const path = checkPath(f.path)
    if (Buffer.byteLength(path) > 100) throw new MeroError('InvalidInput', `bundle file name '${path}' is longer than 100 bytes`)
    const header = Buffer.alloc(BLOCK)
    header.write(path, 0, 'utf8')
    header.write('0000644\0', 100, 'latin1')
    header.write('0000000\0', 108, 'latin1')
    header.write('0000000\0', 116, 'latin1')
    header.write(`${f.data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1')
    header.write('00000000000\0', 136, 'latin1')
    header.fill(0x20, 148, 156)
    header[156] = 0x30 // '0': regular file
    header.write('ustar\0', 257, 'latin1')
    header.write('00', 263, 'latin1')
    let sum = 0
    for (const b of header) sum += b
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
    parts.push(header, Buffer.from(f.data), Buffer.alloc((BLOCK - (f.data.length % BLOCK)) % BLOCK))
  }
  parts.push(Buffer.alloc(2 * BLOCK))
  return Buffer.concat(parts)
}
