/**
 * Public entry point of the cluster layer (`troupe/cluster`): nodes over NATS (transport and
 * membership) and the external gateway. Importing it loads nats.js; `troupe` and `troupe/transport` do not.
 */
export {
  checkPublicName,
  DEFAULT_SUBJECT_PREFIX,
  HeartbeatMembership,
  NatsDownError,
  NatsErrorCodes,
  NatsTransport,
  Subjects,
} from '../transport/nats/index.ts'
export type {
  HeartbeatMembershipOptions,
  HeartbeatMessage,
  HeartbeatOptions,
  Membership,
  MembershipListener,
  NatsTransportOptions,
  NatsTransportStats,
  NatsTransportSystem,
} from '../transport/nats/index.ts'
