import { Counter, type Registry } from 'prom-client'

/**
 * Counters of the network layer. They are always kept in memory (so tests and `node.status`
 * can read them synchronously) and, once a prom-client registry is given (at construction or
 * later with register()), exposed as Prometheus counters on it.
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
  /** an inbound stream arrived while its peer held its limit of streams, or was banned */
  | 'peer-limit'

export type RequestOutcome = 'ok' | 'timeout' | 'refused' | 'error'

export interface NetworkCounts {
  messagesIn: number
  messagesOut: number
  /** Copies of gossip messages received after the first (amplification: (in + duplicates) / in). */
  duplicatesIn: number
  dropped: Partial<Record<DropReason, number>>
  requests: Record<string, number>
}

export class NetworkMetrics {
  private readonly counts: NetworkCounts = { messagesIn: 0, messagesOut: 0, duplicatesIn: 0, dropped: {}, requests: {} }
  /** The same counts by Prometheus labels (read by the registry at scrape time). */
  private readonly labelled = { in: new Map<string, number>(), out: new Map<string, number>(), duplicates: new Map<string, number>(), dropped: new Map<string, number>(), requests: new Map<string, number>() }
  private registered = false

  constructor(registry?: Registry, prefix = 'merod_') {
    if (registry) this.register(registry, prefix)
  }

  /**
   * Exposes the counters on a prom-client registry (e.g. the daemon's, created after the
   * network), counts so far included. They are read at scrape time, so that counting costs the
   * message path nothing more than a map update. Once: a second call is ignored.
   */
  register(registry: Registry, prefix = 'merod_'): void {
    if (this.registered) return
    this.registered = true
    const registers = [registry]
    const mirror = <L extends string>(counts: Map<string, number>, labels: (key: string) => Partial<Record<L, string>>) =>
      function (this: Counter<L>) {
        this.reset()
        for (const [key, n] of counts) this.inc(labels(key), n)
      }
    new Counter({ name: `${prefix}gossip_messages_in_total`, help: 'Gossip messages delivered to this node, by topic family', labelNames: ['topic'], registers, collect: mirror(this.labelled.in, (topic) => ({ topic })) })
    new Counter({ name: `${prefix}gossip_duplicates_in_total`, help: 'Copies of gossip messages received after the first, by topic family', labelNames: ['topic'], registers, collect: mirror(this.labelled.duplicates, (topic) => ({ topic })) })
    new Counter({ name: `${prefix}gossip_messages_out_total`, help: 'Gossip messages published by this node, by topic family', labelNames: ['topic'], registers, collect: mirror(this.labelled.out, (topic) => ({ topic })) })
    new Counter({
      name: `${prefix}network_dropped_total`,
      help: 'Inbound gossip messages or streams dropped by the network layer, by reason',
      labelNames: ['reason', 'topic'],
      registers,
      collect: mirror(this.labelled.dropped, (key) => {
        const [reason, topic] = JSON.parse(key) as [string, string]
        return { reason, topic }
      }),
    })
    new Counter({
      name: `${prefix}stream_requests_total`,
      help: 'Request/response exchanges over streams, by protocol, direction and outcome',
      labelNames: ['protocol', 'direction', 'outcome'],
      registers,
      collect: mirror(this.labelled.requests, (key) => {
        const [protocol, direction, outcome] = JSON.parse(key) as [string, string, string]
        return { protocol, direction, outcome }
      }),
    })
  }

  messageIn(topic: string): void {
    this.counts.messagesIn++
    bump(this.labelled.in, topicFamily(topic))
  }

  duplicateIn(topic: string): void {
    this.counts.duplicatesIn++
    bump(this.labelled.duplicates, topicFamily(topic))
  }

  messageOut(topic: string): void {
    this.counts.messagesOut++
    bump(this.labelled.out, topicFamily(topic))
  }

  dropped(reason: DropReason, topic = ''): void {
    this.counts.dropped[reason] = (this.counts.dropped[reason] ?? 0) + 1
    bump(this.labelled.dropped, JSON.stringify([reason, topicFamily(topic)]))
  }

  request(protocol: string, direction: 'inbound' | 'outbound', outcome: RequestOutcome): void {
    const key = `${direction} ${protocol} ${outcome}`
    this.counts.requests[key] = (this.counts.requests[key] ?? 0) + 1
    bump(this.labelled.requests, JSON.stringify([protocol, direction, outcome]))
  }

  /** A copy of the in-memory counts. */
  snapshot(): NetworkCounts {
    return { messagesIn: this.counts.messagesIn, messagesOut: this.counts.messagesOut, duplicatesIn: this.counts.duplicatesIn, dropped: { ...this.counts.dropped }, requests: { ...this.counts.requests } }
  }
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1)
}

export function topicFamily(topic: string): string {
  const i = topic.lastIndexOf('/')
  return (i > 0 ? topic.slice(0, i) : topic).slice(0, 64)
}
