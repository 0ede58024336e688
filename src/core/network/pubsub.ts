import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { Emitter } from '../primitives/emitter.js'
import { MeroError } from '../primitives/errors.js'
import type { GossipMessage, Host, NetworkEvents, Services } from './host.js'
import type { NetworkMetrics } from './metrics.js'

/**
 * Gossipsub topics: publish and subscribe (topics are kept across a stop and a start), and a
 * validation hook that decides, before delivery and forwarding, what happens to each received
 * message: validators per topic family (each replicator's), and one for the whole node.
 */
export type ValidationResult = 'accept' | 'reject' | 'ignore'
/** Decides, before delivery and forwarding, what happens to a received gossip message. */
export type MessageValidator = (m: Omit<GossipMessage, 'msgId'>) => ValidationResult | Promise<ValidationResult>

const MAX_TOPIC_LENGTH = 256

export class PubSub {
  private validator?: MessageValidator
  /** Validators of a topic family (by topic prefix), e.g. each replicator's for its topics. */
  private readonly prefixValidators = new Map<string, MessageValidator>()
  private readonly topics = new Set<string>()

  constructor(
    private readonly host: Host,
    private readonly events: Emitter<NetworkEvents>,
    private readonly metrics: NetworkMetrics,
    private readonly opts: { maxMessageBytes: number; validator?: MessageValidator },
  ) {
    this.validator = opts.validator
  }

  /** The host started: listen to gossipsub and join the topics subscribed so far. */
  attach(node: Libp2p<Services>): void {
    const pubsub = node.services.pubsub
    pubsub.addEventListener('gossipsub:message', (evt) => {
      const { propagationSource, msg, msgId } = evt.detail
      this.metrics.messageIn(msg.topic)
      this.events.emit('message', { topic: msg.topic, from: propagationSource.toString(), data: msg.data, msgId })
    })
    pubsub.addEventListener('subscription-change', (evt) => {
      const peerId = evt.detail.peerId.toString()
      for (const s of evt.detail.subscriptions) this.events.emit('subscription:change', { peerId, topic: s.topic, subscribed: s.subscribe })
    })
    this.countDuplicates(pubsub)
    for (const t of this.topics) this.subscribeOnHost(t)
  }

  /**
   * Gossipsub tells its peer scoring of every copy of a message it had seen already (and emits
   * nothing else for them): counted here, they are what gossip costs beyond one delivery per
   * message (docs/network.md, amplification).
   */
  private countDuplicates(pubsub: Services['pubsub']): void {
    const score = (pubsub as unknown as { score?: { duplicateMessage?: (from: string, msgId: string, topic: string) => void } }).score
    const report = score?.duplicateMessage
    if (!score || typeof report !== 'function') return
    score.duplicateMessage = (from, msgId, topic) => {
      this.metrics.duplicateIn(topic)
      report.call(score, from, msgId, topic)
    }
  }

  setValidator(validator: MessageValidator | undefined): void {
    this.validator = validator
  }

  /**
   * Validates the messages of the topics starting with `topicPrefix` (one validator per prefix;
   * a later one replaces it), before they are delivered or forwarded. The node-wide validator of
   * setValidator, when set, runs as well; the strictest verdict wins. Returns the removal.
   */
  addValidator(topicPrefix: string, validator: MessageValidator): () => void {
    this.prefixValidators.set(topicPrefix, validator)
    return () => {
      if (this.prefixValidators.get(topicPrefix) === validator) this.prefixValidators.delete(topicPrefix)
    }
  }

  /** Publishes to a topic; resolves with how many peers it was sent to (0 when alone). */
  async publish(topic: string, data: Uint8Array): Promise<number> {
    checkTopic(topic)
    if (data.byteLength > this.opts.maxMessageBytes) {
      throw new MeroError('LimitExceeded', `a gossip message of ${data.byteLength} bytes exceeds the maximum of ${this.opts.maxMessageBytes}`)
    }
    const result = await this.host.libp2p.services.pubsub.publish(topic, data)
    this.metrics.messageOut(topic)
    return result.recipients.length
  }

  /** Subscribes (also before start: topics are joined when the node starts). */
  subscribe(topic: string): void {
    checkTopic(topic)
    this.topics.add(topic)
    if (this.host.started) this.subscribeOnHost(topic)
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic)
    if (!this.host.started) return
    const pubsub = this.host.libp2p.services.pubsub
    pubsub.unsubscribe(topic)
    pubsub.topicValidators.delete(topic)
  }

  subscriptions(): string[] {
    return [...this.topics]
  }

  /** Peers known to be subscribed to a topic. */
  topicPeers(topic: string): string[] {
    return this.host.started ? this.host.libp2p.services.pubsub.getSubscribers(topic).map((p) => p.toString()) : []
  }

  private subscribeOnHost(topic: string): void {
    const pubsub = this.host.libp2p.services.pubsub
    pubsub.topicValidators.set(topic, (peer, msg) => this.validate(peer, msg))
    pubsub.subscribe(topic)
  }

  private async validate(peer: PeerId, msg: Message): Promise<TopicValidatorResult> {
    if (msg.data.byteLength > this.opts.maxMessageBytes) {
      this.metrics.dropped('oversize', msg.topic)
      this.host.guard.strike(peer.toString(), 'invalid-message')
      return TopicValidatorResult.Reject
    }
    let result: ValidationResult = 'accept'
    try {
      for (const [prefix, v] of this.prefixValidators) {
        if (!msg.topic.startsWith(prefix)) continue
        const r = v({ topic: msg.topic, from: peer.toString(), data: msg.data })
        // a synchronous verdict costs no extra turn of the microtask queue
        result = stricter(result, r instanceof Promise ? await r : r)
      }
      if (this.validator && result !== 'reject') {
        const r = this.validator({ topic: msg.topic, from: peer.toString(), data: msg.data })
        result = stricter(result, r instanceof Promise ? await r : r)
      }
    } catch {
      this.metrics.dropped('validator-error', msg.topic)
      return TopicValidatorResult.Ignore
    }
    if (result === 'accept') return TopicValidatorResult.Accept
    this.metrics.dropped(result === 'reject' ? 'rejected' : 'ignored', msg.topic)
    // the peer that delivered it vouched for it (honest peers forward only what they accepted)
    if (result === 'reject') this.host.guard.strike(peer.toString(), 'invalid-message')
    return result === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
  }
}

/** reject > ignore > accept; anything else a validator returns counts as ignore. */
function stricter(a: ValidationResult, b: ValidationResult): ValidationResult {
  if (a === 'reject' || b === 'reject') return 'reject'
  if (a === 'ignore' || b !== 'accept') return 'ignore'
  return 'accept'
}

function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new MeroError('InvalidInput', `a topic is 1 to ${MAX_TOPIC_LENGTH} characters (got ${JSON.stringify(String(topic).slice(0, 40))})`)
  }
}
