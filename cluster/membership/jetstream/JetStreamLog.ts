import { DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import { MAX_COMMAND_BYTES } from '../ClusterCommandCodec.ts'
import { ClusterNoQuorumError } from '../errors.ts'

export interface JetStreamLogOptions {
  readonly stream: string
  readonly subject: string
  readonly replicas: number
  /** How long one JetStream request may take before ERR_CLUSTER_NO_QUORUM. */
  readonly timeoutMs: number
}

/** Wraps a NATS/JetStream failure: the outcome of the operation is unknown, retrying is safe (commands are idempotent). */
export function noQuorum(what: string, cause: unknown): ClusterNoQuorumError {
  return new ClusterNoQuorumError(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
}

/**
 * The replicated command log: one JetStream stream holding one subject. JetStream's own Raft orders
 * appends, so the stream sequence is the log index every member applies in; members read it with an
 * ordered consumer from the sequence after their snapshot. The stream refuses messages larger than a
 * command may be (`max_msg_size`), a first line against hostile writers; the codec is the second.
 */
export class JetStreamLog {
  readonly js: JetStreamClient
  private readonly jsm: JetStreamManager
  private readonly o: JetStreamLogOptions

  private constructor(js: JetStreamClient, jsm: JetStreamManager, options: JetStreamLogOptions) {
    this.js = js
    this.jsm = jsm
    this.o = options
  }

  /** Opens the stream, creating it when missing (every member may race to create it: same config, so either wins). */
  static async open(nc: NatsConnection, options: JetStreamLogOptions): Promise<JetStreamLog> {
    try {
      const jsm = await jetstreamManager(nc, { timeout: options.timeoutMs })
      const log = new JetStreamLog(jetstream(nc, { timeout: options.timeoutMs }), jsm, options)
      await log.ensureStream()
      return log
    } catch (error) {
      throw noQuorum(`cannot open stream ${options.stream}`, error)
    }
  }

  private async ensureStream(): Promise<void> {
    try {
      await this.jsm.streams.info(this.o.stream)
      return
    } catch {
      // Missing (or unreadable): try to create it below; a real failure surfaces there.
    }
    try {
      await this.jsm.streams.add({
        name: this.o.stream,
        subjects: [this.o.subject],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        num_replicas: this.o.replicas,
        max_msg_size: MAX_COMMAND_BYTES,
      })
    } catch (error) {
      // Another member created it meanwhile: fine if it answers now.
      await this.jsm.streams.info(this.o.stream).catch(() => {
        throw error
      })
    }
  }

  /** Appends one encoded command; resolves with its stream sequence once JetStream stored it (replicated). */
  async append(bytes: Uint8Array): Promise<number> {
    try {
      const ack = await this.js.publish(this.o.subject, bytes, { timeout: this.o.timeoutMs })
      return ack.seq
    } catch (error) {
      throw noQuorum('JetStream did not take the command (outcome unknown)', error)
    }
  }

  /** The read barrier: the stream's last sequence, as its leader answers it. */
  async lastSequence(): Promise<number> {
    try {
      return (await this.jsm.streams.info(this.o.stream)).state.last_seq
    } catch (error) {
      throw noQuorum('JetStream did not answer the read barrier', error)
    }
  }

  /** First sequence still in the stream (entries before it were compacted into a snapshot). */
  async firstSequence(): Promise<number> {
    try {
      return (await this.jsm.streams.info(this.o.stream)).state.first_seq
    } catch (error) {
      throw noQuorum('JetStream did not answer stream info', error)
    }
  }

  /** Drops entries before `seq` (compaction after a snapshot that covers them). */
  async compactBefore(seq: number): Promise<void> {
    try {
      await this.jsm.streams.purge(this.o.stream, { seq })
    } catch (error) {
      throw noQuorum('JetStream did not compact the log', error)
    }
  }

  /** An ordered consumer from `startSeq`: in-order delivery, recreated by the client after gaps or reconnects. */
  async read(startSeq: number): Promise<ConsumerMessages> {
    try {
      const consumer = await this.js.consumers.get(this.o.stream, { filter_subjects: this.o.subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, startSeq) })
      return await consumer.consume()
    } catch (error) {
      throw noQuorum('JetStream did not open the log for reading', error)
    }
  }
}
