import type { Random } from '../runtime/index.ts'
import type { NetworkConditions } from './SimulatedNetwork.ts'

/** labrpc's short delay: U[0, 27) ms. */
function short(random: Random): number {
  return random.next() * 27
}

/**
 * Named wire presets, after MIT 6.5840's labrpc (the network its Raft labs are graded on). Pass one
 * to `SimulatedNetwork` options or `network.configure(...)`.
 *
 * Where they deviate from labrpc: labrpc works on RPCs (a request and its reply) and drops a
 * request or a reply; here the unit is a frame, so "10 % of requests and independently 10 % of
 * replies" is 10 % of frames, each direction drawn on its own (the same odds for one round trip).
 * labrpc delivers every RPC on its own goroutine, so nothing is ordered: these presets set
 * `reorder: 1` (except `reliable`). labrpc's `longDelays` makes a call to a dead or cut-off server
 * take up to 7 s to fail; frames here have no failure reply (asks time out on their own), so
 * `longDelays` gives 10 % of frames a delay of 1–7 s instead.
 */
export const NetworkProfiles = {
  /** Every frame arrives, in order, after 1–5 ms. */
  reliable: { latency: { minMs: 1, maxMs: 5 }, loss: 0, duplication: 0, reorder: 0 },
  /** Delay U[0, 27) ms, 10 % of frames lost, no ordering. */
  unreliable: { latency: short, resolutionMs: 0, loss: 0.1, duplication: 0, reorder: 1 },
  /** As unreliable, and 2/3 of frames take 200 + U[0, 1 + U[0, 2000)) ms: old frames arrive very late. */
  longReordering: {
    latency: (random: Random) => (random.next() < 2 / 3 ? 200 + random.next() * (1 + random.next() * 2000) : short(random)),
    resolutionMs: 0,
    loss: 0.1,
    duplication: 0,
    reorder: 1,
  },
  /** As unreliable, and 10 % of frames take 1–7 s. */
  longDelays: {
    latency: (random: Random) => (random.next() < 0.1 ? 1000 + random.next() * 6000 : short(random)),
    resolutionMs: 0,
    loss: 0.1,
    duplication: 0,
    reorder: 1,
  },
} as const satisfies Record<string, NetworkConditions>

export type NetworkProfileName = keyof typeof NetworkProfiles
