import type { NatsConnection } from '@nats-io/nats-core'
import { MessageTooLargeError, toError } from '../../runtime/index.ts'
import { TransportClosedError } from '../errors.ts'
import { NatsDownError } from './errors.ts'
import type { FrameSigner } from './FrameSigner.ts'
import type { NatsTransportStats } from './NatsTransportOptions.ts'

/** Publishes a shard's link frames and acks on NATS: signed when there is a cluster secret, counted, nats.js failures as typed errors. */
export class NatsPublisher {
  private readonly connection: NatsConnection
  private readonly signer: FrameSigner | null
  private readonly stats: NatsTransportStats

  constructor(connection: NatsConnection, signer: FrameSigner | null, stats: NatsTransportStats) {
    this.connection = connection
    this.signer = signer
    this.stats = stats
  }

  /** Publishes a link frame; throws ERR_TRANSPORT_CLOSED, ERR_MESSAGE_TOO_LARGE or ERR_NATS_DOWN when nats.js refuses it. */
  frame(subject: string, frame: Uint8Array): void {
    try {
      this.connection.publish(subject, this.signer === null ? frame : this.signer.sign(subject, frame))
    } catch (error) {
      if (this.connection.isClosed()) throw new TransportClosedError('the NATS connection is closed', { cause: error })
      const message = toError(error).message
      if (message.includes('max_payload')) {
        throw new MessageTooLargeError(`frame of ${frame.byteLength} bytes exceeds the NATS server's max_payload`, { cause: error })
      }
      throw new NatsDownError(`NATS publish failed: ${message}`, { cause: error })
    }
    this.stats.framesOut++
    this.stats.bytesOut += frame.byteLength
  }

  /** Publishes an ack; a failure (link down) is ignored: the sender resends after the reconnect and is acknowledged then. */
  ack(subject: string, bytes: Uint8Array): void {
    try {
      this.connection.publish(subject, this.signer === null ? bytes : this.signer.sign(subject, bytes))
      this.stats.acksOut++
    } catch {
      // Nothing to do: see above.
    }
  }
}
