import { gzipSync } from 'node:zlib'

/**
 * Hand-made tar archives for the bundle tests: entries any tar writer could produce (links,
 * paths outside the archive, extension headers), which the project's own writer refuses to make.
 */
export function tarHeader(name: string, size: number, type = '0', linkname = ''): Buffer {
  const h = Buffer.alloc(512)
  h.write(name, 0, 'utf8')
  h.write('0000644\0', 100, 'latin1')
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1')
  h.write('00000000000\0', 136, 'latin1')
  h.fill(0x20, 148, 156)
  h.write(type, 156, 'latin1')
  h.write(linkname, 157, 'utf8')
  h.write('ustar\0', 257, 'latin1')
  h.write('00', 263, 'latin1')
  let sum = 0
  for (const b of h) sum += b
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  return h
}

/** A regular file (or another `type`) entry with its content padded to whole blocks. */
export function tarFile(name: string, data: Buffer, type = '0'): Buffer {
  return Buffer.concat([tarHeader(name, data.length, type), data, Buffer.alloc((512 - (data.length % 512)) % 512)])
}

/** A gzip'd archive of the entries, closed by two empty blocks. */
export function tarGz(...entries: Buffer[]): Buffer {
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]))
}
