import type { NatsConnection } from '@nats-io/nats-core'
import { decodeInvalidation, encodeInvalidation, type InvalidationBus, type InvalidationMessage } from './InvalidationBus.ts'

export interface NatsInvalidationBusOptions {
  /** A connected nats.js connection, owned by the caller (the bus never closes it). */
  readonly connection: NatsConnection
  /** Subject prefix; a cache's messages go to `<prefix>.<cache>`. Default `troupe.cache`. */
  readonly subjectPrefix?: string
}

/** Subject tokens must not contain wildcards, dots or spaces. */
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/

/**
 * Invalidation over NATS core pub/sub: at most once, which the cache's generation check turns into
 * a bounded staleness window. Refused (malformed) messages are counted in `refused` and dropped;
 * they never reach the cache and never throw.
 */
export class NatsInvalidationBus implements InvalidationBus {
  refused = 0
  publishFailures = 0
  private readonly connection: NatsConnection
  private readonly prefix: string

  constructor(options: NatsInvalidationBusOptions) {
    this.connection = options.connection
    this.prefix = options.subjectPrefix ?? 'troupe.cache'
  }

  publish(message: InvalidationMessage): void {
    try {
      this.connection.publish(this.subject(message.cache), encodeInvalidation(message))
    } catch {
      // A closed or draining connection: the message is lost, which the generation check heals.
      this.publishFailures++
    }
  }

  subscribe(cache: string, handler: (message: InvalidationMessage) => void): () => void {
    const subscription = this.connection.subscribe(this.subject(cache), {
      callback: (error, msg) => {
        if (error !== null) return
        const decoded = decodeInvalidation(msg.data)
        if (decoded === null || decoded.cache !== cache) {
          this.refused++
          return
        }
        handler(decoded)
      },
    })
    return () => subscription.unsubscribe()
  }

  private subject(cache: string): string {
    if (!TOKEN.test(cache)) throw new TypeError(`cache name '${cache}' is not a NATS subject token`)
    return `${this.prefix}.${cache}`
  }
}
