/** An uplink module for the shard tests: the main thread connects (an in-memory link), every worker fails. */
import type { ActorSystem } from '../../../../runtime/index.ts'
import { LoopbackNetwork } from '../../../../testing/index.ts'

export default {
  async connect(system: ActorSystem) {
    if (system.shard !== 0) throw new Error(`no link for shard ${system.shard}`)
    return new LoopbackNetwork().attach({ system: system.name, node: system.node, shard: system.shard })
  },
}
