import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MeroError, type ErrorKind } from '../core/primitives/errors.js'
import type { InstrumentedModule, Instrumenter } from '../core/runtime/index.js'

/** The child's script, built next to this module. */
const CHILD = fileURLToPath(new URL('./instrument-child.js', import.meta.url))

/**
 * Instruments application modules in a child process that ends with the module (issue 20):
 * binaryen is a large wasm program, and once loaded in the daemon it stayed there, with what
 * instrumenting took: a node stood at about 215-260 MB after installing one application instead
 * of 120 MB. Neither in the daemon nor in a worker thread did that memory go back to the system
 * (a worker still left ~100 MB); a process gives all of it back. It costs a process start per
 * module instrumented, which happens once per application and node (the result is kept,
 * instrumented-cache.ts).
 */
export function childProcessInstrumenter(options: { timeoutMs?: number; child?: string } = {}): Instrumenter {
  const timeoutMs = options.timeoutMs ?? 120_000
  return (bytes, maxMemoryPages) =>
    new Promise<InstrumentedModule>((resolve, reject) => {
      const child = spawn(process.execPath, [options.child ?? CHILD], { stdio: ['pipe', 'pipe', 'pipe'] })
      const out: Buffer[] = []
      const err: Buffer[] = []
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      child.stdout.on('data', (c: Buffer) => out.push(c))
      child.stderr.on('data', (c: Buffer) => err.push(c))
      child.once('error', (e) => {
        clearTimeout(timer)
        reject(new MeroError('Internal', `cannot start the instrumentation process: ${e.message}`))
      })
      child.once('close', (code, signal) => {
        clearTimeout(timer)
        let a: { result?: Omit<InstrumentedModule, 'bytes'> & { bytes: string }; error?: { kind?: string; message: string } }
        try {
          a = JSON.parse(Buffer.concat(out).toString('utf8'))
        } catch {
          const why = signal === 'SIGKILL' ? `took more than ${timeoutMs} ms` : `exited (${signal ?? code}) without an answer: ${Buffer.concat(err).toString('utf8').trim().slice(-500)}`
          return reject(new MeroError('Internal', `the instrumentation of the module ${why}`))
        }
        if (a.error) return reject(new MeroError((a.error.kind as ErrorKind | undefined) ?? 'InvalidModule', a.error.message))
        resolve({ ...a.result!, bytes: new Uint8Array(Buffer.from(a.result!.bytes, 'base64')) })
      })
      const header = Buffer.alloc(4)
      header.writeUInt32LE(maxMemoryPages)
      child.stdin.on('error', () => undefined) // a child that died early: its close explains it
      child.stdin.end(Buffer.concat([header, bytes]))
    })
}
