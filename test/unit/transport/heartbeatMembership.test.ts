import type { NatsConnection } from '@nats-io/nats-core'
import { describe, expect, it } from 'vitest'
import { HeartbeatMembership, type HeartbeatMessage } from '../../../cluster/index.ts'
import { VirtualClock } from '../../../testing/index.ts'

/** Just enough of a NATS connection for one membership: the test plays the peers by hand. */
function fakeConnection(): { connection: NatsConnection; deliver(message: Partial<HeartbeatMessage>): void } {
  let callback: ((error: Error | null, msg: { data: Uint8Array }) => void) | null = null
  const connection = {
    subscribe: (_subject: string, options: { callback: typeof callback }) => {
      callback = options.callback
      return { unsubscribe() {} }
    },
    flush: async () => {},
    publish: () => {},
    isClosed: () => false,
  } as unknown as NatsConnection
  return {
    connection,
    deliver(message) {
      const full = { v: 1, node: 'peer', incarnation: 'i1', intervalMs: 100, type: 'beat', ...message }
      callback?.(null, { data: new TextEncoder().encode(JSON.stringify(full)) })
    },
  }
}

describe('HeartbeatMembership: a peer node\'s down shards', () => {
  it('follows the list every message carries: new entries are down, missing ones are up again', async () => {
    const { connection, deliver } = fakeConnection()
    const membership = new HeartbeatMembership({ connection, clock: new VirtualClock(), subject: 'troupe.c.hb', node: 'me', incarnation: 'mine', intervalMs: 100, timeoutMs: 1000 })
    const events: string[] = []
    await membership.start({
      up: (node) => events.push(`up ${node}`),
      down: (node, shard) => events.push(`down ${node}${shard === null ? '' : `:${shard}`}`),
      shardUp: (node, shard) => events.push(`shard-up ${node}:${shard}`),
    })
    deliver({ type: 'announce' })
    deliver({ type: 'shard-down', shard: 2, down: [2] })
    deliver({ down: [2, 2, 3] }) // duplicates are one entry
    deliver({ down: [3] })
    deliver({ type: 'shard-down', shard: 4 }) // a notice without the list still counts its own shard
    deliver({}) // nothing down any more
    deliver({ type: 'shard-down', shard: 5, incarnation: 'an-older-run' }) // not the run we know: ignored
    expect(events).toEqual(['up peer', 'down peer:2', 'down peer:3', 'shard-up peer:2', 'down peer:4', 'shard-up peer:3', 'shard-up peer:4'])
    await membership.stop()
  })
})
