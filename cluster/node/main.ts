#!/usr/bin/env node
/** The `troupe` command: runs the CLI with the process's arguments and exits with its code. */
import { runCli } from './cli.ts'
import { natsNetwork } from './natsNetwork.ts'

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  network: natsNetwork,
  tty: process.stdout.isTTY === true,
})
process.exit(code)
