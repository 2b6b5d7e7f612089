import type { RaftStorage } from '../../../cluster/raft/index.ts'
import { SimDisk, SimRaftStorage, Simulation } from '../../../testing/index.ts'
import { raftSnapshotInstallConformance } from '../../support/raftStorageConformance.ts'

/**
 * SimRaftStorage under the port's installSnapshot conformance cases. Each call is driven to its end
 * on the simulation's virtual clock (the twin's fsync is a timer); `crash` crashes the process that
 * owns the disk, so only what was fsynced survives.
 */
function settled(sim: Simulation, inner: RaftStorage): RaftStorage {
  return {
    load: () => sim.settle(inner.load()),
    persist: (b) => sim.settle(inner.persist(b)),
    saveSnapshot: (s) => sim.settle(inner.saveSnapshot(s)),
    installSnapshot: (s) => sim.settle(inner.installSnapshot(s)),
    compact: (i) => sim.settle(inner.compact(i)),
    close: () => sim.settle(inner.close()),
  }
}

let seed = 0
raftSnapshotInstallConformance('SimRaftStorage', {
  location() {
    const sim = new Simulation({ seed: ++seed })
    const disk = new SimDisk(sim, 'd')
    let generation = 0
    let owner: ReturnType<Simulation['createProcess']> | null = null
    return Promise.resolve({
      open: () => {
        owner = sim.createProcess(`p${++generation}`)
        disk.attach(owner)
        return settled(sim, new SimRaftStorage(disk, owner.clock))
      },
      crash: () => {
        // Only what was fsynced survives (maybe with a torn tail, which load cuts).
        owner?.crash()
        return Promise.resolve()
      },
      dispose: () => Promise.resolve(),
    })
  },
})
