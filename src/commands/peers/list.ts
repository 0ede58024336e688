import { MeroCommand } from '../../client/base-command.js'
import { table } from '../../client/render.js'

export default class PeersList extends MeroCommand<typeof PeersList> {
  static override summary = 'List connected peers'

  async run() {
    const r = await this.call('peers.list')
    this.out(table(['peer', 'addresses'], r.peers.map((p) => [p.peerId, p.addresses.join(' ')]), { empty: 'no peers connected' }))
    return r
  }
}
