import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'

export default class PeersConnect extends MeroCommand<typeof PeersConnect> {
  static override summary = 'Connect to a peer by multiaddr'
  static override examples = ['<%= config.bin %> peers connect /ip4/127.0.0.1/tcp/2429/p2p/12D3KooW…']
  static override args = { address: Args.string({ description: 'multiaddr ending in /p2p/<peer id>', required: true }) }

  async run() {
    const r = await this.call('peers.connect', { address: this.args.address })
    this.out(`Connected to ${r.peerId}`)
    return r
  }
}
