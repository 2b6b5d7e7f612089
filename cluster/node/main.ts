#!/usr/bin/env node
/* eslint-disable no-restricted-globals -- the process entry owns the event loop: it keeps it alive while the node runs */
/** The `troupe` command: runs the CLI with the process's arguments and exits with its code. */
import { runCli } from './cli.ts'

// Actor timers are unref'd by design (they must not hold a library user's process open); the
// node process is the exception, and stays up until it is told to stop.
const keepAlive = setInterval(() => {}, 1 << 30)
const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
})
clearInterval(keepAlive)
process.exit(code)
