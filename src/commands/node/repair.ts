import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { withSpinner } from '../../client/progress.js'
import { sleep } from '../../client/daemon-manager.js'
import { renderRepair, type CatchUp } from '../../client/views/node.js'
import type { RpcClient } from '../../client/rpc-client.js'

export default class NodeRepair extends MeroCommand<typeof NodeRepair> {
  static override summary = "Recover a node's store after damage, say what was lost, then catch up from peers"
  static override description =
    "Run it when merod refuses to start because its write-ahead log is damaged, cut short or missing. With the daemon stopped, the damaged logs are copied aside, RocksDB replays them up to the damage, and the report names what could not be recovered. Then (unless --no-start) the node starts and fetches what its peers hold: groups' ops and contexts' deltas. A corrupt table file (.sst) cannot be repaired this way: restore a backup (`meroctl node restore`)."
  static override examples = ['<%= config.bin %> node repair', '<%= config.bin %> node repair --node alice --json']
  static override flags = {
    wait: Flags.integer({ description: 'seconds to wait for a peer before catching up', default: 10, min: 0, max: 600 }),
  }

  async run() {
    const report = await withSpinner('repairing the store', !this.jsonEnabled(), () => this.manager.repair())
    let catchUp: CatchUp | undefined
    if (this.flags.start) catchUp = await withSpinner('starting merod and catching up from peers', !this.jsonEnabled(), () => this.catchUp())
    this.out(renderRepair(report, catchUp))
    return { ...report, ...(catchUp ? { catchUp } : {}) }
  }

  /** Starts the node, waits for a peer, and syncs every group and context it holds. */
  private async catchUp(): Promise<CatchUp> {
    await this.manager.start()
    const client = await this.client()
    const deadline = Date.now() + this.flags.wait * 1000
    let peers = 0
    while ((peers = (await client.call<{ peers?: number }>('node.status')).peers ?? 0) === 0 && Date.now() < deadline) await sleep(200)
    const out: CatchUp = { peers, groups: [], contexts: [] }
    if (peers === 0) return out
    const { groups } = await client.call<{ groups: { groupId: string }[] }>('group.list')
    for (const { groupId } of groups) out.groups.push({ groupId, ...(await attempt(client, 'group.sync', { group: groupId })) })
    const { contexts } = await client.call<{ contexts: { contextId: string }[] }>('context.list')
    for (const { contextId } of contexts) out.contexts.push({ contextId, ...(await attempt(client, 'context.sync', { context: contextId })) })
    return out
  }
}

async function attempt(client: RpcClient, method: string, params: Record<string, unknown>): Promise<{ fetched: number; errors: string[] }> {
  try {
    const r = await client.call<{ fetched?: number; errors?: string[] }>(method, params)
    return { fetched: r.fetched ?? 0, errors: r.errors ?? [] }
  } catch (e) {
    return { fetched: 0, errors: [(e as Error).message] }
  }
}
