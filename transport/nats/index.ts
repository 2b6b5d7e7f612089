/** The NATS transport (re-exported by `troupe/cluster`; `troupe/transport` stays free of nats.js). */
export { NatsTransport } from './NatsTransport.ts'
export type { NatsTransportOptions, NatsTransportStats, NatsTransportSystem } from './NatsTransport.ts'
export { HeartbeatMembership } from './HeartbeatMembership.ts'
export type { HeartbeatMembershipOptions, HeartbeatMessage, HeartbeatOptions } from './HeartbeatMembership.ts'
export type { Membership, MembershipListener } from './Membership.ts'
export { checkPublicName, checkToken, DEFAULT_SUBJECT_PREFIX, Subjects } from './subjects.ts'
export { NatsDownError, NatsErrorCodes } from './errors.ts'
export { flushWithin } from './flushWithin.ts'
