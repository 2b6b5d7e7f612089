/** An app module that loads on the main thread but throws in a worker: its shards cannot start. */
import { isMainThread } from 'node:worker_threads'
import { defineShardApp } from '../../../../transport/index.ts'
import { Counter } from './testApp.ts'

if (!isMainThread) throw new Error('this app refuses to load in a worker')

export default defineShardApp({ actors: { Counter } })
