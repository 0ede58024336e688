import { Counter, type Registry } from 'prom-client'

/**
 * Counters of the network layer. They are always kept in memory (so tests and `node.status`
 * can read them synchronously) and, when a prom-client registry is given, mirrored as
 * Prometheus counters on it.
 *
 * Topics are labelled by family (`mero/group`, `mero/ctx`: the topic without its last
 * segment) so that the number of series does not grow with the number of groups.
 */
export type DropReason =
  /** larger than the gossip message cap */
  | 'oversize'
  /** the validation hook rejected it */
  | 'rejected'
  /** the validation hook ignored it */
  | 'ignored'
  /** the validation hook threw */
  | 'validator-error'
  /** an inbound stream arrived while the protocol's concurrency limit was reached */
  | 'busy'

export type RequestOutcome = 'ok' | 'timeout' | 'refused' | 'error'

export interface NetworkCounts {
  messagesIn: number
  messagesOut: number
  dropped: Partial<Record<DropReason, number>>
  requests: Record<string, number>
}

export class NetworkMetrics {
  private readonly counts: NetworkCounts = { messagesIn: 0, messagesOut: 0, dropped: {}, requests: {} }
  private readonly promIn?: Counter<'topic'>
  private readonly promOut?: Counter<'topic'>
  private readonly promDropped?: Counter<'reason' | 'topic'>
  private readonly promRequests?: Counter<'protocol' | 'direction' | 'outcome'>

  constructor(registry?: Registry, prefix = 'merod_') {
    if (!registry) return
    const registers = [registry]
    this.promIn = new Counter({ name: `${prefix}gossip_messages_in_total`, help: 'Gossip messages delivered to this node, by topic family', labelNames: ['topic'], registers })
    this.promOut = new Counter({ name: `${prefix}gossip_messages_out_total`, help: 'Gossip messages published by this node, by topic family', labelNames: ['topic'], registers })
    this.promDropped = new Counter({
      name: `${prefix}network_dropped_total`,
      help: 'Inbound gossip messages or streams dropped by the network layer, by reason',
      labelNames: ['reason', 'topic'],
      registers,
    })
    this.promRequests = new Counter({
      name: `${prefix}stream_requests_total`,
      help: 'Request/response exchanges over streams, by protocol, direction and outcome',
      labelNames: ['protocol', 'direction', 'outcome'],
      registers,
    })
  }

  messageIn(topic: string): void {
    this.counts.messagesIn++
    this.promIn?.inc({ topic: topicFamily(topic) })
  }

  messageOut(topic: string): void {
    this.counts.messagesOut++
    this.promOut?.inc({ topic: topicFamily(topic) })
  }

  dropped(reason: DropReason, topic = ''): void {
    this.counts.dropped[reason] = (this.counts.dropped[reason] ?? 0) + 1
    this.promDropped?.inc({ reason, topic: topicFamily(topic) })
  }

  request(protocol: string, direction: 'inbound' | 'outbound', outcome: RequestOutcome): void {
    const key = `${direction} ${protocol} ${outcome}`
    this.counts.requests[key] = (this.counts.requests[key] ?? 0) + 1
    this.promRequests?.inc({ protocol, direction, outcome })
  }

  /** A copy of the in-memory counts. */
  snapshot(): NetworkCounts {
    return { messagesIn: this.counts.messagesIn, messagesOut: this.counts.messagesOut, dropped: { ...this.counts.dropped }, requests: { ...this.counts.requests } }
  }
}

export function topicFamily(topic: string): string {
  const i = topic.lastIndexOf('/')
  return (i > 0 ? topic.slice(0, i) : topic).slice(0, 64)
}
