import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

/**
 * Ed25519 verification of batches on worker threads. Catch-up ingests thousands of ops whose
 * signatures dominate the cost; spreading them over the cores lets a node apply ops faster
 * than one thread can verify them. Small batches are verified inline (a round trip to a worker
 * costs more than a few verifications).
 *
 * Workers take ~90 ms to start and ~10 MB each, so they start on demand (or on `warm()`, when a
 * catch-up is likely: a peer connected) and stop again after `idleMs` without work.
 */
export interface VerifyJob {
  publicKey: Uint8Array
  message: Uint8Array
  signature: Uint8Array
}

// the workers verify with the same libsodium binding as the main thread (ed25519.ts)
const SODIUM_PATH = createRequire(import.meta.url).resolve('sodium-native')
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const sodium = require(${JSON.stringify(SODIUM_PATH)})
parentPort.on('message', ({ id, jobs }) => {
  const out = new Uint8Array(jobs.length)
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i]
    try {
      out[i] = j.publicKey.length === 32 && j.signature.length === 64 && sodium.crypto_sign_verify_detached(j.signature, j.message, j.publicKey) ? 1 : 0
    } catch {
      out[i] = 0
    }
  }
  parentPort.postMessage({ id, out })
})
`

export const INLINE_BELOW = 32
/**
 * Without running workers, batches smaller than this are verified inline too: starting the
 * workers costs more CPU than verifying a few thousand signatures (61 µs each), and on a small
 * machine it competes with the catch-up it is meant to speed up. Whoever expects a long
 * catch-up calls `warm()` first.
 */
export const COLD_INLINE_BELOW = 4096
const IDLE_MS = 60_000

export class VerifierPool {
  private readonly workers: Worker[] = []
  private readonly waiting = new Map<number, (out: Uint8Array) => void>()
  private nextId = 0
  private closed = false
  private idleTimer?: NodeJS.Timeout
  /** Jobs verified since construction: on this thread, and on the workers. */
  readonly stats = { inline: 0, onWorkers: 0 }

  constructor(
    readonly size = Math.max(1, Math.min(4, availableParallelism())),
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Worker threads running now. */
  get running(): number {
    return this.workers.length
  }

  /** Starts the workers now (ahead of a batch that is likely to come). */
  warm(): void {
    this.start()
    this.armIdle()
  }

  private armIdle(): void {
    if (this.closed || !this.workers.length) return
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      if (this.waiting.size) return this.armIdle()
      const workers = this.workers.splice(0)
      for (const w of workers) void w.terminate()
    }, this.idleMs)
    this.idleTimer.unref()
  }

  private start(): void {
    if (this.workers.length || this.closed) return
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true })
      w.unref()
      w.on('message', ({ id, out }: { id: number; out: Uint8Array }) => {
        this.waiting.get(id)?.(out)
        this.waiting.delete(id)
      })
      this.workers.push(w)
    }
  }

  /** One boolean per job, in order. */
  async verify(jobs: VerifyJob[], inline: (job: VerifyJob) => boolean): Promise<boolean[]> {
    if (jobs.length < INLINE_BELOW || this.closed || (!this.workers.length && jobs.length < COLD_INLINE_BELOW)) {
      this.stats.inline += jobs.length
      return jobs.map(inline)
    }
    this.start()
    this.stats.onWorkers += jobs.length
    const per = Math.ceil(jobs.length / this.workers.length)
    const parts = await Promise.all(
      this.workers.map((w, i) => {
        const slice = jobs.slice(i * per, (i + 1) * per)
        if (!slice.length) return Promise.resolve(new Uint8Array(0))
        const id = this.nextId++
        return new Promise<Uint8Array>((resolve) => {
          this.waiting.set(id, resolve)
          w.postMessage({ id, jobs: slice })
        })
      }),
    )
    this.armIdle()
    const out: boolean[] = []
    for (const p of parts) for (const v of p) out.push(v === 1)
    return out
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.idleTimer)
    await Promise.all(this.workers.map((w) => w.terminate()))
    this.workers.length = 0
  }
}
