import { spawn, type ChildProcess } from 'node:child_process'
import { WebSocket } from 'undici'
import { MEROD_NODE_FLAGS } from '../../src/client/daemon-manager.js'
import { MEROD, type TestHome, waitFor } from './harness.js'

/**
 * A real `merod run` with V8's inspector open on an ephemeral loopback port, and a client of it:
 * what the daemon's main thread has loaded (every script V8 compiled there and still holds) and
 * its heap after a full collection, as V8 itself reports them. Used where a test must see inside
 * the daemon without the daemon's own word for it.
 */
export class InspectedMerod {
  private ws?: WebSocket
  private nextId = 1
  private readonly replies = new Map<number, (msg: { result?: any; error?: { message: string } }) => void>()
  private readonly listeners = new Set<(msg: { method: string; params: any }) => void>()

  private constructor(readonly child: ChildProcess) {}

  static async start(t: TestHome, node = 'default'): Promise<InspectedMerod> {
    const child = t.track(spawn(process.execPath, [...MEROD_NODE_FLAGS, '--inspect=127.0.0.1:0', MEROD, '--home', t.home, '--node', node, 'run'], { stdio: ['ignore', 'ignore', 'pipe'] }))
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    const url = await waitFor(() => /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1], 15_000)
    const m = new InspectedMerod(child)
    await m.connect(url)
    const rpc = t.rpc(node)
    try {
      await waitFor(() => rpc.call('node.status').then(() => true), 15_000)
    } finally {
      rpc.close()
    }
    return m
  }

  private connect(url: string): Promise<void> {
    const ws = new WebSocket(url)
    this.ws = ws
    ws.addEventListener('message', (e) => {
      const msg = JSON.parse(String(e.data))
      if (msg.id !== undefined) {
        this.replies.get(msg.id)?.(msg)
        this.replies.delete(msg.id)
      } else for (const l of this.listeners) l(msg)
    })
    return new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true })
      ws.addEventListener('error', () => reject(new Error(`cannot reach merod's inspector at ${url}`)), { once: true })
    })
  }

  send<T = any>(method: string, params: object = {}): Promise<T> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.replies.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result as T)))
      this.ws!.send(JSON.stringify({ id, method, params }))
    })
  }

  /** The URLs of the scripts the main thread holds (V8 reports them all when the debugger is enabled). */
  async scripts(): Promise<string[]> {
    const urls: string[] = []
    const l = (msg: { method: string; params: any }) => {
      if (msg.method === 'Debugger.scriptParsed' && msg.params.url) urls.push(msg.params.url)
    }
    this.listeners.add(l)
    try {
      await this.send('Debugger.enable')
      await this.send('Debugger.disable')
    } finally {
      this.listeners.delete(l)
    }
    return urls
  }

  /** V8 heap in use on the main thread after a full garbage collection, bytes. */
  async heapAfterGc(): Promise<number> {
    await this.send('HeapProfiler.collectGarbage')
    return (await this.send<{ usedSize: number }>('Runtime.getHeapUsage')).usedSize
  }

  close(): void {
    this.ws?.close()
  }
}
