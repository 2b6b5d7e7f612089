import type { LogEntry, RaftConfiguration } from './RaftStorage.ts'

/**
 * The messages Raft servers exchange (Raft Figure 2, with etcd/raft's refinements: heartbeats apart
 * from appends, PreVote, TimeoutNow, chunked snapshots). Every message carries the sender's term.
 */
export const MessageKinds = [
  'append',
  'appendResponse',
  'heartbeat',
  'heartbeatResponse',
  'vote',
  'voteResponse',
  'snapshot',
  'snapshotResponse',
  'timeoutNow',
  'readIndex',
  'readIndexResponse',
] as const
export type MessageKind = (typeof MessageKinds)[number]

interface Header {
  readonly from: string
  readonly to: string
  readonly term: number
}

/** AppendEntries: `entries` follow (prevIndex, prevTerm); `commit` is the leader's commit index. */
export interface AppendMessage extends Header {
  readonly kind: 'append'
  readonly prevIndex: number
  readonly prevTerm: number
  readonly entries: readonly LogEntry[]
  readonly commit: number
}

/**
 * Success: `index` is the follower's last index matching the leader. Rejection: `index` is the
 * rejected prevIndex, and (hintIndex, hintTerm) the follower's largest index at or below it whose
 * term is at most the leader's prevTerm, so the leader skips a whole term per round trip.
 */
export interface AppendResponseMessage extends Header {
  readonly kind: 'appendResponse'
  readonly reject: boolean
  readonly index: number
  readonly hintIndex: number
  readonly hintTerm: number
}

/** Carries `commit` = min(follower's match, leader's commit) and the ReadIndex round in `context`. */
export interface HeartbeatMessage extends Header {
  readonly kind: 'heartbeat'
  readonly commit: number
  readonly context: number
}

export interface HeartbeatResponseMessage extends Header {
  readonly kind: 'heartbeatResponse'
  readonly context: number
}

/** RequestVote. `preVote`: asks whether a real vote would be granted (no term change). `transfer`: a leadership transfer; voters ignore their leader lease. */
export interface VoteMessage extends Header {
  readonly kind: 'vote'
  readonly preVote: boolean
  readonly transfer: boolean
  readonly lastIndex: number
  readonly lastTerm: number
}

export interface VoteResponseMessage extends Header {
  readonly kind: 'voteResponse'
  readonly preVote: boolean
  readonly granted: boolean
}

/** One chunk of InstallSnapshot: bytes [offset, offset + data.length) of a snapshot of `total` bytes. */
export interface SnapshotMessage extends Header {
  readonly kind: 'snapshot'
  readonly index: number
  readonly snapshotTerm: number
  readonly config: RaftConfiguration
  readonly offset: number
  readonly total: number
  readonly data: Uint8Array
}

/** Acknowledges snapshot chunks: `next` is the offset the follower expects next (== total: installed). */
export interface SnapshotResponseMessage extends Header {
  readonly kind: 'snapshotResponse'
  readonly index: number
  readonly next: number
}

/** Leadership transfer: the target starts an election at once, without PreVote. */
export interface TimeoutNowMessage extends Header {
  readonly kind: 'timeoutNow'
}

/** A follower's read forwarded to its leader (etcd's MsgReadIndex): `context` is the follower's read id. */
export interface ReadIndexMessage extends Header {
  readonly kind: 'readIndex'
  readonly context: number
}

/** The leader confirmed it still leads: a read that waits until `index` is applied is linearizable. */
export interface ReadIndexResponseMessage extends Header {
  readonly kind: 'readIndexResponse'
  readonly context: number
  readonly index: number
}

export type RaftMessage =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | SnapshotMessage
  | SnapshotResponseMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage
