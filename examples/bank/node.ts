/**
 * The bank as a node's app module: `troupe start --app examples/bank/node.ts` (or `npm start`).
 * The node loads the default export, starts the bank's supervision tree, and publishes the
 * transfer coordinator, the accounts directory and the auditor for external clients (when NATS is
 * configured): only the methods listed, each with a schema for its arguments (`schemas.ts`).
 */
import { defineApp } from '../../cluster/index.ts'
import { Account } from './Account.ts'
import { AccountsDirectory } from './AccountsDirectory.ts'
import { startBank } from './app.ts'
import { Auditor, AuditTopic } from './Auditor.ts'
import { publicArgs } from './schemas.ts'
import { Transfers } from './Transfers.ts'

export default defineApp({
  name: 'bank',
  actors: { Account, AccountsDirectory, Transfers, Auditor },
  async start({ system, logger, settings, publish }) {
    const auditIntervalMs = typeof settings['auditIntervalMs'] === 'number' ? settings['auditIntervalMs'] : 5000
    const bank = await startBank(system, { auditIntervalMs })
    system.subscribe(AuditTopic, (report) => {
      if (report.balanced) logger.debug({ total: report.total }, 'audit balanced')
      else logger.error({ report }, 'audit found money created or lost')
    })
    // Default-deny: `hold`/`release` (the auditor's gate), `open` (it creates money) and every
    // Account method stay internal.
    publish('bank.transfers', bank.transfers(), { methods: ['transfer', 'stats'], args: publicArgs.transfers })
    publish('bank.accounts', bank.accounts(), { methods: ['get', 'running', 'snapshot'], args: publicArgs.accounts })
    publish('bank.auditor', bank.auditor(), { methods: ['check', 'summary'], args: publicArgs.auditor })
    const opening = settings['openAccounts']
    if (opening !== null && typeof opening === 'object') {
      for (const [id, cents] of Object.entries(opening as Record<string, number>)) await bank.accounts().ask('open', id, cents)
    }
    logger.info({ accounts: await bank.accounts().ask('running') }, 'bank open')
  },
})
