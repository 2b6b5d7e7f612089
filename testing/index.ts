/** Public entry point of the testing layer (`troupe/testing`): test doubles that ship as product. */
export { VirtualClock } from './VirtualClock.ts'
export { settle, waitFor, waitForValue } from './waitFor.ts'
export { LoopbackNetwork } from './LoopbackNetwork.ts'
