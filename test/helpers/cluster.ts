import { join } from 'node:path'
import { RpcClient } from '../../src/client/rpc-client.js'
import { LOOPBACK, ROOT, TestHome, waitFor, type RunResult } from './harness.js'

export const KV_WASM = join(ROOT, 'apps/kv-store/build/kv-store.wasm')

export interface ContextMeta {
  contextId: string
  rootHash: string
  heads: string[]
  deltas: number
}

/** Where a node's daemon runs: its listen address, and how `meroctl node start` is run for it. */
export interface Placement {
  listen(node: string): string
  run(node: string, meroctlArgs: string[]): Promise<RunResult>
}

/**
 * Real daemons of one TestHome sharing a group and a kv-store context: the set-up of the fault,
 * backup and repair tests. Heartbeats run every second so that catch-up does not wait 10 s. By
 * default the daemons run here on loopback; a Placement puts each elsewhere (a network namespace).
 */
export class Cluster {
  readonly rpc: Record<string, RpcClient> = {}
  readonly identities: Record<string, string> = {}
  groupId = ''
  contextId = ''
  applicationId = ''

  constructor(
    readonly t: TestHome,
    private readonly placement?: Placement,
  ) {}

  /**
   * Initialises (once) and starts a node; `config` edits its config.toml before the start;
   * `initArgs` go to its `node init` (e.g. --encryption-key-file).
   */
  async start(n: string, config: (toml: string) => string = (c) => c, initArgs: string[] = []): Promise<void> {
    this.rpc[n]?.close()
    try {
      await this.t.init(n, ['--listen', this.placement?.listen(n) ?? LOOPBACK, ...initArgs])
      this.t.editConfig(n, (c) => config(c.replace(/group_heartbeat_secs = \d+/, 'group_heartbeat_secs = 1').replace(/context_heartbeat_secs = \d+/, 'context_heartbeat_secs = 1')))
    } catch (e) {
      if (!/already exists/.test((e as Error).message)) throw e
    }
    this.identities[n] = (await this.startDaemon(n)).identity
    this.rpc[n] = this.t.rpc(n)
  }

  private async startDaemon(n: string): Promise<{ identity: string }> {
    if (!this.placement) return this.t.start(n)
    const r = await this.placement.run(n, ['node', 'start', '--node', n, '--home', this.t.home, '--json'])
    if (r.code !== 0) throw new Error(`node start ${n} exited ${r.code}: ${r.stdout}${r.stderr}`)
    return JSON.parse(r.stdout) as { identity: string }
  }

  async stop(n: string): Promise<void> {
    this.rpc[n]?.close()
    delete this.rpc[n]
    await this.t.json(['node', 'stop', '--node', n])
  }

  /** A group owned by `owner` with `members` as admins, and a kv-store context all of them joined. */
  async share(owner: string, members: string[]): Promise<void> {
    this.groupId = (await this.rpc[owner]!.call<{ groupId: string }>('group.create', {})).groupId
    this.applicationId = (await this.t.json(['app', 'install', KV_WASM, '--node', owner])).applicationId
    this.contextId = (await this.t.json(['context', 'create', '--group', this.groupId, '--app', this.applicationId, '--node', owner])).contextId
    for (const m of members) {
      const inv = await this.rpc[owner]!.call<{ token: string }>('group.createInvitation', { group: this.groupId, role: 'admin' })
      await this.t.json(['group', 'join', inv.token, '--node', m])
      await waitFor(() => this.rpc[m]!.call<{ contexts: { contextId: string }[] }>('group.get', { group: this.groupId }).then((g) => g.contexts.some((c) => c.contextId === this.contextId)), 10_000)
      await this.t.json(['context', 'join', this.contextId, '--node', m])
    }
  }

  /**
   * Like share, for many nodes: the members join the group four at a time, by RPC (concurrent joins are
   * concurrent ops of the group's DAG); once every node sees every member, they join the context
   * at once (a peer that has not seen a member yet would refuse it the context's key).
   */
  async shareAtOnce(owner: string, members: string[]): Promise<void> {
    this.groupId = (await this.rpc[owner]!.call<{ groupId: string }>('group.create', {})).groupId
    this.applicationId = (await this.t.json(['app', 'install', KV_WASM, '--node', owner])).applicationId
    this.contextId = (await this.rpc[owner]!.call<{ contextId: string }>('context.create', { group: this.groupId, application: this.applicationId })).contextId
    const tokens = await Promise.all(members.map(() => this.rpc[owner]!.call<{ token: string }>('group.createInvitation', { group: this.groupId, role: 'admin' })))
    // joins wait for peers (dial, sync, the context's state): the CLI's patience, not the harness's 10 s
    const patient = (m: string) => new RpcClient(join(this.t.nodeDir(m), 'merod.sock'), { timeoutMs: 120_000 })
    const slow = Object.fromEntries(members.map((m) => [m, patient(m)]))
    try {
      // four at a time: libp2p resets inbound connections beyond 10 in their handshake at once
      // (its maxIncomingPendingConnections), and on a loaded machine eleven joiners got there
      for (let i = 0; i < members.length; i += 4) {
        await Promise.all(members.slice(i, i + 4).map((m, j) => slow[m]!.call('group.join', { token: tokens[i + j]!.token })))
      }
      const everyone = [owner, ...members]
      await waitFor(async () => {
        const views = await Promise.all(everyone.map((n) => this.rpc[n]!.call<{ members: unknown[] }>('group.members', { group: this.groupId })))
        return views.every((v) => v.members.length === everyone.length)
      }, 60_000, 200)
      await Promise.all(members.map((m) => slow[m]!.call('context.join', { context: this.contextId })))
    } finally {
      for (const c of Object.values(slow)) c.close()
    }
  }

  call<T = unknown>(n: string, method: string, args: unknown = {}): Promise<{ result: T; rootHash: string; deltaId: string | null }> {
    return this.rpc[n]!.call<{ result: T; rootHash: string; deltaId: string | null }>('context.execute', { context: this.contextId, method, args })
  }

  meta(n: string): Promise<ContextMeta> {
    return this.rpc[n]!.call<ContextMeta>('context.get', { context: this.contextId })
  }

  /** Whether the nodes hold the same root hash for the context. */
  async converged(nodes: string[]): Promise<boolean> {
    const roots = await Promise.all(nodes.map((n) => this.meta(n).then((m) => m.rootHash, () => `unreachable ${n}`)))
    return new Set(roots).size === 1
  }

  close(): void {
    for (const c of Object.values(this.rpc)) c.close()
  }
}
