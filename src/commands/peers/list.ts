import { MeroCommand } from '../../client/base-command.js'
import { table } from '../../client/render.js'

export default class PeersList extends MeroCommand<typeof PeersList> {
  static override summary = 'List connected peers and how each is connected'
  static override description =
    'One row per connection: the peer, direct or relayed (through which relay), the transport (tcp, quic, or relay for a circuit made to us), the direction, the remote address and the measured round trip.'
  static override examples = ['<%= config.bin %> peers list', '<%= config.bin %> peers list --json']

  async run() {
    const r = await this.call('peers.list')
    const rows = r.peers.flatMap((p) =>
      p.connections.map((c) => [p.peerId, c.via === 'relayed' ? `relayed${c.relay ? ` via ${c.relay}` : ''}${c.limited ? ' (limited)' : ''}` : 'direct', c.transport, c.direction, c.address, p.latencyMs !== undefined ? `${Math.round(p.latencyMs)} ms` : '-']),
    )
    this.out(table(['peer', 'connection', 'transport', 'direction', 'address', 'rtt'], rows, { empty: 'no peers connected' }))
    return r
  }
}
