/**
 * Nodes over NATS, each case next to raw nats.js doing the same job in the same run:
 * - `tell`: remote one-way tells a → b (Remoting batches a turn's envelopes into one frame) vs raw
 *   publish → subscribe of the same payloads, one NATS message each. Target ratio ≥ 1.5. Troupe's
 *   side runs the reliable link (sequence numbers, acks, credit); `acksPerFrame` is its own traffic.
 * - `ask`: sequential remote asks a → b → a, p50/p99, vs raw request/reply with the same payload.
 *   Target p50 ratio ≤ 1.1.
 * - `signed`: the `tell` case between two nodes sharing a cluster secret (every frame and heartbeat
 *   HMAC-signed and checked) vs the same case unsigned, in the same run.
 * - `sign`: the cost of signing and checking one frame (a full 1024-tell batch and a one-ask frame)
 *   next to encoding that frame; and where the signature travels: trailer bytes (what Troupe does)
 *   vs a NATS header, raw publish → subscribe of signed frames.
 * The NATS server comes from the test service ladder (NATS_URL, else a local nats-server binary).
 */
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node'
import { Packr } from 'msgpackr'
import { Actor, ActorSystem, Envelope, EnvelopeKind, type ActorRef } from '../runtime/index.ts'
import { Remoting } from '../transport/index.ts'
import { FrameSigner, NatsTransport, type ClusterSecret } from '../cluster/index.ts'
import { provideNats, uniqueCluster, type NatsService } from '../test/support/services.ts'
import { check, median, note, now, paired, pairedRatio, percentile, rate, report, round, startTiming, yieldMacrotask, type Rate, type Suite } from './harness.ts'

const TELL_N = 200_000
const ASK_N = 5_000
/** Rounds per case (ABBA-paired with the baseline); the machine is shared, so the median of pairs is reported. */
const ROUNDS = 5
/** The sender yields to the event loop every this many messages, in both variants. */
const YIELD_EVERY = 1024
/** The payload of every message: what one `tell('record', PAYLOAD)` carries. */
const PAYLOAD = { id: 42, kind: 'reading', value: 21.5 }

const packr = new Packr({ useRecords: false })

// ------------------------------------------------------------------ actors under test

/** Called by the sink when it has seen the expected count (a local callback: no polling over NATS). */
let onSinkDone: (() => void) | null = null
let sinkTarget = 0

interface SinkProtocol {
  record(payload: typeof PAYLOAD): void
  reset(target: number): void
}
class Sink extends Actor<SinkProtocol> implements SinkProtocol {
  private n = 0
  record(payload: typeof PAYLOAD): void {
    if (payload.id === 42) this.n++
    if (this.n === sinkTarget) onSinkDone?.()
  }
  reset(target: number): void {
    this.n = 0
    sinkTarget = target
  }
}

interface PongProtocol {
  ping(payload: typeof PAYLOAD): typeof PAYLOAD
}
class Ponger extends Actor<PongProtocol> implements PongProtocol {
  ping(payload: typeof PAYLOAD): typeof PAYLOAD {
    return payload
  }
}

// ------------------------------------------------------------------ setup

interface BenchNode {
  system: ActorSystem
  connection: NatsConnection
  transport: NatsTransport
}

async function node(url: string, cluster: string, name: string, clusterSecret?: ClusterSecret): Promise<BenchNode> {
  const system = ActorSystem.create({ name: cluster, node: name, askTimeoutMs: 60_000 })
  const connection = await connect({ servers: url, name: `${cluster}/${name}` })
  const transport = await NatsTransport.start({ connection, system, ...(clusterSecret === undefined ? {} : { clusterSecret }) })
  new Remoting(system, transport)
  return { system, connection, transport }
}

async function closeNode(n: BenchNode): Promise<void> {
  await n.system.terminate()
  await n.transport.close()
  await n.connection.close()
}

interface World {
  readonly server: NatsService
  readonly a: BenchNode
  readonly b: BenchNode
  readonly sink: ActorRef<SinkProtocol>
  readonly ponger: ActorRef<PongProtocol>
  /** Raw baseline connections: publisher/requester and subscriber/responder. */
  readonly rawOut: NatsConnection
  readonly rawIn: NatsConnection
  readonly rawSubject: string
}

async function setUp(): Promise<World> {
  const server = await provideNats()
  note(`nats: server from ${server.source} at ${server.url}`)
  const cluster = uniqueCluster('bench')
  const a = await node(server.url, cluster, 'a')
  const b = await node(server.url, cluster, 'b')
  const sinkLocal = b.system.spawn(Sink, { name: 'sink', mailbox: { capacity: TELL_N * 2 } })
  const pongerLocal = b.system.spawn(Ponger, { name: 'ponger' })
  // The strongest raw baseline: no async stack capture per request (nats.js does that by default).
  const rawOut = await connect({ servers: server.url, name: `${cluster}/raw-out`, noAsyncTraces: true })
  const rawIn = await connect({ servers: server.url, name: `${cluster}/raw-in` })
  return {
    server,
    a,
    b,
    sink: a.system.refFor<SinkProtocol>(sinkLocal.address),
    ponger: a.system.refFor<PongProtocol>(pongerLocal.address),
    rawOut,
    rawIn,
    rawSubject: `rawbench.${cluster}`,
  }
}

// ------------------------------------------------------------------ tell throughput

async function troupeTells(world: Pick<World, 'sink'>, n: number): Promise<Rate> {
  await world.sink.ask('reset' as never, n as never)
  const done = new Promise<void>((resolve) => {
    onSinkDone = resolve
  })
  const stop = startTiming()
  for (let i = 0; i < n; i++) {
    world.sink.tell('record', PAYLOAD)
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldMacrotask()
  }
  await done
  onSinkDone = null
  return rate(n, stop())
}

async function rawTells(world: World, n: number): Promise<Rate> {
  let seen = 0
  let resolve!: () => void
  const done = new Promise<void>((r) => {
    resolve = r
  })
  const subject = `${world.rawSubject}.tell`
  const sub = world.rawIn.subscribe(subject, {
    callback: (error, msg) => {
      if (error !== null) return
      // The consumer decodes each message, as any real one would.
      const payload = packr.unpack(msg.data) as typeof PAYLOAD
      if (payload.id === 42 && ++seen === n) resolve()
    },
  })
  await world.rawIn.flush()
  const stop = startTiming()
  for (let i = 0; i < n; i++) {
    world.rawOut.publish(subject, packr.pack(PAYLOAD))
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldMacrotask()
  }
  await done
  const measured = rate(n, stop())
  sub.unsubscribe()
  return measured
}

async function tellCase(world: World): Promise<void> {
  note(`nats.tell: warming up`)
  await troupeTells(world, TELL_N / 4)
  await rawTells(world, TELL_N / 4)
  const framesBefore = world.a.transport.stats.framesOut
  const acksBefore = world.b.transport.stats.acksOut
  const runs = await paired(ROUNDS, () => troupeTells(world, TELL_N), () => rawTells(world, TELL_N))
  const frames = world.a.transport.stats.framesOut - framesBefore
  const acks = world.b.transport.stats.acksOut - acksBefore
  const wall = runs.candidate.map((r) => r.perSecond)
  const baseWall = runs.baseline.map((r) => r.perSecond)
  const ratio = pairedRatio(wall, baseWall)
  report({
    case: 'nats.tell',
    value: round(median(wall)),
    unit: 'msg/s',
    baseline: round(median(baseWall)),
    ratio: round(ratio, 3),
    // Process CPU only: the server's per-message work for the raw baseline is not in it.
    cpuRatio: round(
      pairedRatio(
        runs.candidate.map((r) => r.perCpuSecond),
        runs.baseline.map((r) => r.perCpuSecond),
      ),
      3,
    ),
    target: '>= 1.5',
    meetsTarget: ratio >= 1.5,
    envelopesPerFrame: round((TELL_N * ROUNDS) / Math.max(1, frames), 3),
    // The delivery guarantee's own traffic: acknowledgements (with credit) per data frame.
    acksPerFrame: round(acks / Math.max(1, frames), 3),
    creditStalls: world.a.transport.stats.creditStalls,
    messages: TELL_N,
    rounds: ROUNDS,
  })
}

// ------------------------------------------------------------------ ask latency

async function troupeAsks(world: World, n: number): Promise<Float64Array> {
  const latencies = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const started = now()
    const reply = await world.ponger.ask('ping', PAYLOAD)
    latencies[i] = (now() - started) * 1000
    if (i === 0) check(reply.id === 42, 'ponger echoes the payload')
  }
  return latencies.sort()
}

async function rawAsks(world: World, n: number): Promise<Float64Array> {
  const subject = `${world.rawSubject}.ask`
  const sub = world.rawIn.subscribe(subject, {
    callback: (error, msg) => {
      if (error !== null) return
      // Decode and re-encode the reply, as the actor side does.
      msg.respond(packr.pack(packr.unpack(msg.data)))
    },
  })
  await world.rawIn.flush()
  const latencies = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const started = now()
    const reply = await world.rawOut.request(subject, packr.pack(PAYLOAD), { timeout: 10_000 })
    latencies[i] = (now() - started) * 1000
    if (i === 0) check((packr.unpack(reply.data) as typeof PAYLOAD).id === 42, 'raw responder echoes the payload')
  }
  sub.unsubscribe()
  return latencies.sort()
}

async function askCase(world: World): Promise<void> {
  note(`nats.ask: warming up`)
  await troupeAsks(world, ASK_N / 5)
  await rawAsks(world, ASK_N / 5)
  const acksBefore = world.a.transport.stats.acksOut + world.b.transport.stats.acksOut
  const runs = await paired(ROUNDS, () => troupeAsks(world, ASK_N), () => rawAsks(world, ASK_N))
  // Both directions carry one frame per ask; acks are batched over the ack delay.
  const acksPerAsk = (world.a.transport.stats.acksOut + world.b.transport.stats.acksOut - acksBefore) / (ASK_N * ROUNDS)
  for (const [p, target] of [
    [50, 1.1],
    [99, null],
  ] as const) {
    const candidate = runs.candidate.map((l) => percentile(l, p))
    const baseline = runs.baseline.map((l) => percentile(l, p))
    const ratio = pairedRatio(candidate, baseline)
    report({
      case: `nats.ask.p${p}`,
      value: round(median(candidate)),
      unit: 'µs',
      baseline: round(median(baseline)),
      ratio: round(ratio, 3),
      ...(target === null ? {} : { target: `<= ${target}`, meetsTarget: ratio <= target }),
      acksPerAsk: round(acksPerAsk, 3),
      asks: ASK_N,
      rounds: ROUNDS,
    })
  }
}

// ------------------------------------------------------------------ signing

const SECRET: ClusterSecret = { current: 'bench-cluster-secret-0123456789abcdef' }

async function signedCase(world: World): Promise<void> {
  const cluster = uniqueCluster('bench-signed')
  const a = await node(world.server.url, cluster, 'a', SECRET)
  const b = await node(world.server.url, cluster, 'b', SECRET)
  try {
    const sinkLocal = b.system.spawn(Sink, { name: 'sink', mailbox: { capacity: TELL_N * 2 } })
    const signed = { sink: a.system.refFor<SinkProtocol>(sinkLocal.address) }
    note(`nats.tell.signed: warming up`)
    await troupeTells(signed, TELL_N / 4)
    await troupeTells(world, TELL_N / 4)
    const framesBefore = a.transport.stats.framesOut
    const bytesBefore = a.transport.stats.bytesOut
    const runs = await paired(ROUNDS, () => troupeTells(signed, TELL_N), () => troupeTells(world, TELL_N))
    const frames = a.transport.stats.framesOut - framesBefore
    check(b.transport.stats.unauthenticatedFrames === 0, 'every signed frame was accepted')
    const wall = runs.candidate.map((r) => r.perSecond)
    const baseWall = runs.baseline.map((r) => r.perSecond)
    report({
      case: 'nats.tell.signed',
      value: round(median(wall)),
      unit: 'msg/s',
      baseline: round(median(baseWall)),
      ratio: round(pairedRatio(wall, baseWall), 3),
      cpuRatio: round(
        pairedRatio(
          runs.candidate.map((r) => r.perCpuSecond),
          runs.baseline.map((r) => r.perCpuSecond),
        ),
        3,
      ),
      envelopesPerFrame: round((TELL_N * ROUNDS) / Math.max(1, frames), 3),
      bytesPerFrame: Math.round((a.transport.stats.bytesOut - bytesBefore) / Math.max(1, frames)),
      messages: TELL_N,
      rounds: ROUNDS,
    })
  } finally {
    await closeNode(a)
    await closeNode(b)
  }
}

/** Microseconds per call of `work`, median of ROUNDS rounds of `n` calls. */
function microsPerCall(n: number, work: () => void): number[] {
  const out: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const started = now()
    for (let i = 0; i < n; i++) work()
    out.push(((now() - started) * 1000) / n)
  }
  return out
}

async function signCase(world: World): Promise<void> {
  const system = world.a.system
  const target = world.sink
  const signer = new FrameSigner(SECRET)
  const subject = 'troupe.bench.sys.b.0'
  const frames = {
    batch: system.codec.encodeBatch(Array.from({ length: 1024 }, (_, i) => new Envelope(EnvelopeKind.Tell, target, null, i + 1, 0, null, 'record', [PAYLOAD]))),
    single: system.codec.encodeBatch([new Envelope(EnvelopeKind.Ask, target, target, 1, 0, null, 'ping', [PAYLOAD])]),
  }
  for (const [name, frame] of Object.entries(frames)) {
    const envelopes = name === 'batch' ? 1024 : 1
    const encode = name === 'batch'
      ? () => system.codec.encodeBatch(Array.from({ length: 1024 }, (_, i) => new Envelope(EnvelopeKind.Tell, target, null, i + 1, 0, null, 'record', [PAYLOAD])))
      : () => system.codec.encodeBatch([new Envelope(EnvelopeKind.Ask, target, target, 1, 0, null, 'ping', [PAYLOAD])])
    const n = name === 'batch' ? 2000 : 50_000
    const signed = signer.sign(subject, frame)
    check(signer.verify(subject, signed) !== null, 'a signed frame verifies')
    microsPerCall(n / 4, () => signer.sign(subject, frame))
    microsPerCall(n / 4, encode)
    const sign = microsPerCall(n, () => signer.sign(subject, frame))
    const verify = microsPerCall(n, () => signer.verify(subject, signed))
    const encodeCost = microsPerCall(n, encode)
    report({
      case: `nats.sign.${name}`,
      value: round(median(sign), 3),
      unit: 'µs per frame (sign)',
      baseline: round(median(encodeCost), 3),
      ratio: round(pairedRatio(sign, encodeCost), 3),
      verifyMicros: round(median(verify), 3),
      baselineIs: 'encoding the same frame',
      frameBytes: frame.byteLength,
      envelopes,
      rounds: ROUNDS,
    })
  }
  await placementCase(world, signer, frames.batch.subarray(0, 4096))
}

/**
 * Where the signature travels, raw nats.js with the same HMAC either way: appended bytes (one
 * buffer copy) vs a NATS header (header block encoded per message and parsed on receipt).
 */
async function placementCase(world: World, signer: FrameSigner, frame: Uint8Array): Promise<void> {
  const n = 50_000
  const subject = `${world.rawSubject}.signed`
  const run = async (header: boolean): Promise<Rate> => {
    let seen = 0
    let resolve!: () => void
    const done = new Promise<void>((r) => (resolve = r))
    const sub = world.rawIn.subscribe(subject, {
      callback: (error, msg) => {
        if (error !== null) return
        let ok: boolean
        if (header) {
          const signed = signer.sign(subject, msg.data) // recompute: same HMAC work as a check
          ok = Buffer.from(signed.subarray(signed.byteLength - 32)).toString('base64') === msg.headers?.get('Troupe-Signature')
        } else {
          ok = signer.verify(subject, msg.data) !== null
        }
        if (ok && ++seen === n) resolve()
      },
    })
    await world.rawIn.flush()
    const stop = startTiming()
    for (let i = 0; i < n; i++) {
      const signed = signer.sign(subject, frame)
      if (header) {
        const h = natsHeaders()
        h.set('Troupe-Signature', Buffer.from(signed.subarray(signed.byteLength - 32)).toString('base64'))
        world.rawOut.publish(subject, frame, { headers: h })
      } else {
        world.rawOut.publish(subject, signed)
      }
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldMacrotask()
    }
    await done
    const measured = rate(n, stop())
    sub.unsubscribe()
    return measured
  }
  await run(false)
  await run(true)
  const runs = await paired(ROUNDS, () => run(false), () => run(true))
  report({
    case: 'nats.sign.placement',
    value: round(median(runs.candidate.map((r) => r.perSecond))),
    unit: 'signed frames/s, trailer',
    baseline: round(median(runs.baseline.map((r) => r.perSecond))),
    baselineIs: 'the signature in a NATS header',
    ratio: round(
      pairedRatio(
        runs.candidate.map((r) => r.perSecond),
        runs.baseline.map((r) => r.perSecond),
      ),
      3,
    ),
    cpuRatio: round(
      pairedRatio(
        runs.candidate.map((r) => r.perCpuSecond),
        runs.baseline.map((r) => r.perCpuSecond),
      ),
      3,
    ),
    frameBytes: frame.byteLength,
    messages: n,
    rounds: ROUNDS,
  })
}

// ------------------------------------------------------------------ suite

const cases: Record<string, (world: World) => Promise<void>> = { tell: tellCase, ask: askCase, signed: signedCase, sign: signCase }

export const suite: Suite = {
  description: 'remote tell throughput and ask latency over a real nats-server, against raw nats.js publish/subscribe and request/reply',
  cases: Object.keys(cases),
  async run({ only }) {
    const world = await setUp()
    try {
      for (const [name, run] of Object.entries(cases)) if (only === null || only.has(name)) await run(world)
    } finally {
      await world.rawOut.close()
      await world.rawIn.close()
      await closeNode(world.a)
      await closeNode(world.b)
      await world.server.stop()
    }
  },
}
