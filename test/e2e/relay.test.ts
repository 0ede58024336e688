import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster } from '../helpers/cluster.js'
import { TestHome, waitFor } from '../helpers/harness.js'

interface Status {
  peerId: string
  listenAddresses: string[]
  network: { reachability: string; relay: { serving: boolean; clients: number; reservations: { relay: string; addresses: string[] }[] } }
}
interface Peers {
  peers: { peerId: string; via: string; connections: { via: string; relay?: string; transport: string }[] }[]
}

/**
 * Issue 20, relays: three daemons that listen nowhere (no address anyone can dial) and one relay
 * on loopback. Each reserves a slot on the relay and advertises its address through it; the
 * invitation carries it; the joiner joins the group and replicates a context with a third node,
 * every connection relayed.
 */
describe('relays: nodes nobody can dial, through a relay node', () => {
  const t = new TestHome()
  const c = new Cluster(t)
  const hidden = ['inviter', 'joiner', 'third']
  let relay: Status

  beforeAll(async () => {
    await c.start('relay', (toml) => toml.replace('serve = false', 'serve = true'))
    relay = await c.rpc.relay!.call<Status>('node.status')
    const relayAddress = `${relay.listenAddresses[0]}/p2p/${relay.peerId}`
    for (const n of hidden) {
      await c.start(n, (toml) => toml.replace(/^listen = .*$/m, 'listen = []').replace(/^relays = \[\]$/m, `relays = ["${relayAddress}"]`))
    }
    // each holds a reservation on the relay, and advertises its address through it
    for (const n of hidden) await waitFor(async () => (await c.rpc[n]!.call<Status>('node.status')).network.relay.reservations.length === 1, 15_000)
  }, 90_000)

  afterAll(async () => {
    c.close()
    await t.cleanup()
  })

  it('a node with no dialable address joins by invitation and replicates a context with a third node, all relayed', async () => {
    const joiner = await c.rpc.joiner!.call<Status>('node.status')
    expect(joiner.network.reachability).toBe('private')
    expect(joiner.listenAddresses.length).toBeGreaterThan(0)
    expect(joiner.listenAddresses.every((a) => a.includes(`/p2p/${relay.peerId}/p2p-circuit`))).toBe(true)

    // group join <token> against an inviter only the relay reaches (Cluster.share joins by token)
    await c.share('inviter', ['third', 'joiner'])
    const { token } = await c.rpc.inviter!.call<{ token: string }>('group.createInvitation', { group: c.groupId, role: 'member' })
    const hints = (await t.json<{ inviterAddresses?: string[]; addresses?: string[] }>(['invitation', 'inspect', token, '--node', 'inviter'])) as Record<string, unknown>
    const addresses = JSON.stringify(hints)
    expect(addresses).toContain(`/p2p/${relay.peerId}/p2p-circuit/p2p/`)

    await c.call('joiner', 'set', { key: 'from-joiner', value: 'j' })
    await c.call('third', 'set', { key: 'from-third', value: 't' })
    await waitFor(() => c.converged(['inviter', 'joiner', 'third']), 20_000, 100)
    for (const n of hidden) {
      const entries = (await c.call<Record<string, string>>(n, 'entries')).result
      expect(entries).toMatchObject({ 'from-joiner': 'j', 'from-third': 't' })
    }

    // what peers list --json says on the joiner: the inviter is reached through the relay
    const peers = await t.json<Peers>(['peers', 'list', '--node', 'joiner'])
    const inviterId = (await c.rpc.inviter!.call<Status>('node.status')).peerId
    const inviterPeer = peers.peers.find((p) => p.peerId === inviterId)
    expect(inviterPeer?.via).toBe('relayed')
    expect(inviterPeer?.connections.every((x) => x.via === 'relayed' && x.relay === relay.peerId)).toBe(true)
    // and no hidden node holds a direct connection to another
    const hiddenIds = await Promise.all(hidden.map(async (n) => (await c.rpc[n]!.call<Status>('node.status')).peerId))
    for (const n of hidden) {
      const list = await c.rpc[n]!.call<Peers>('peers.list')
      for (const p of list.peers.filter((p) => hiddenIds.includes(p.peerId))) expect(p.via).toBe('relayed')
    }
    expect((await c.rpc.relay!.call<Status>('node.status')).network.relay).toMatchObject({ serving: true, clients: 3 })
  }, 90_000)
})
