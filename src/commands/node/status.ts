import { MeroCommand } from '../../client/base-command.js'
import { quietFlag } from '../../client/flags.js'
import { formatDuration, keyValue } from '../../client/render.js'

export default class NodeStatusCommand extends MeroCommand<typeof NodeStatusCommand> {
  static override summary = "Show the node's identity, peer id, version, socket, uptime, the addresses peers dial, reachability and relays"
  static override description = `Starts the daemon when none answers, like every command that needs it; pass --no-start to only look.
The addresses end in /p2p/<peer id>: what \`meroctl peers connect\` takes (-q prints just them, one per line).`
  static override examples = ['<%= config.bin %> node status', '<%= config.bin %> node status --json --no-start', '<%= config.bin %> peers connect "$(<%= config.bin %> node status --node alice -q | head -n 1)" --node bob']
  static override flags = { quiet: quietFlag }

  async run() {
    const s = await this.call('node.status')
    const addresses = (s.listenAddresses ?? []).map((a) => `${a}/p2p/${s.peerId}`)
    this.show(
      () =>
        keyValue([
          ['node', s.nodeName],
          ['identity', s.identity],
          ['peer id', s.peerId],
          ['version', s.version],
          ['pid', s.pid],
          ['uptime', formatDuration(s.uptimeMs)],
          ['socket', s.socket],
          ['home', s.home],
          ['at rest', s.storeKeyId ? `encrypted (key id ${s.storeKeyId})` : 'not encrypted'],
          ...(s.peers !== undefined ? ([['peers', s.peers]] as [string, number][]) : []),
          ...(s.listenAddresses ? ([['addresses', addresses]] as [string, string[]][]) : []),
          ...(s.network
            ? ([
                ['reachability', s.network.reachability],
                ['transports', s.network.transports.join(', ')],
                ['relay service', s.network.relay.serving ? `serving ${s.network.relay.clients} reservation${s.network.relay.clients === 1 ? '' : 's'}` : 'off'],
                ['reservations', s.network.relay.reservations.map((r) => `${r.relay}${r.configured ? '' : ' (met)'}: ${r.addresses.length} address${r.addresses.length === 1 ? '' : 'es'}`)],
                ['mdns', s.network.mdns ? 'on' : 'off'],
                ...(s.network.banned.length ? ([['banned peers', s.network.banned.map((b) => `${b.peerId} (${b.reason}, until ${new Date(b.untilMs).toISOString()})`)]] as [string, string[]][]) : []),
              ] as [string, string | string[]][])
            : []),
        ]),
      addresses,
    )
    return { ...s, addresses }
  }
}
