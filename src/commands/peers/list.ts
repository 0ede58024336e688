import { MeroCommand } from '../../client/base-command.js'
import { listFlags } from '../../client/flags.js'
import { table } from '../../client/render.js'

export default class PeersList extends MeroCommand<typeof PeersList> {
  static override summary = 'List connected peers and how each is connected'
  static override description =
    'One row per connection: the peer, direct or relayed (through which relay), the transport (tcp, quic, or relay for a circuit made to us), the direction, the measured round trip and the remote address.'
  static override examples = ['<%= config.bin %> peers list', '<%= config.bin %> peers list --wide', '<%= config.bin %> peers list -q']
  static override flags = listFlags

  async run() {
    const r = await this.call('peers.list')
    const rows = r.peers.flatMap((p) =>
      p.connections.map((c) => [
        this.shown(p.peerId),
        c.via === 'relayed' ? `relayed${c.relay ? ` via ${this.shown(c.relay)}` : ''}${c.limited ? ' (limited)' : ''}` : 'direct',
        c.transport,
        c.direction,
        p.latencyMs !== undefined ? `${Math.round(p.latencyMs)} ms` : '-',
        c.address,
      ]),
    )
    this.show(() => table(['peer', 'connection', 'transport', 'direction', 'rtt', 'address'], rows, { empty: 'no peers connected', ...this.tableOptions }), r.peers.map((p) => p.peerId))
    return r
  }
}
