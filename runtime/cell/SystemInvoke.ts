import type { ActorCell } from '../ActorCell.ts'
import type { Actor } from '../Actor.ts'
import type { SystemMessage } from './CellState.ts'
import { handleChildFailed, handleChildTerminated } from './ChildSupervision.ts'
import { handleLinkedExit, handleTerminated } from './DeathWatch.ts'
import { finishRestart, handleRestart, handleResume, runHook, started } from './FaultHandling.ts'
import { handleStop } from './Termination.ts'

/** Akka's `systemInvoke`: each system message to the concern that owns it. */
export function systemInvoke(cell: ActorCell, message: SystemMessage): void {
  switch (message.type) {
    case 'start':
      runHook(cell, () => (cell.actor as Actor<any>).preStart(), () => started(cell, false))
      return
    case 'stop':
      handleStop(cell, message.reason)
      return
    case 'restart':
      handleRestart(cell, message.error, message.hold, message.keepChildren === true)
      return
    case 'complete-restart':
      if (cell.extras?.prepared === true) {
        cell.extras.prepared = false
        finishRestart(cell)
      }
      return
    case 'linked-exit':
      handleLinkedExit(cell, message.from, message.reason)
      return
    case 'resume':
      handleResume(cell)
      return
    case 'child-failed':
      handleChildFailed(cell, message.child, message.error)
      return
    case 'child-terminated':
      handleChildTerminated(cell, message.child, message.reason)
      return
    case 'terminated':
      handleTerminated(cell, message.terminated)
      return
  }
}
