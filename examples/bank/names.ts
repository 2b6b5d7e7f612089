/**
 * Registry names of the bank's long-lived actors. Siblings find each other by name at the moment
 * they need to (a child restarted from scratch gets a new ref; its name stays the same).
 */
export const BankNames = {
  supervisor: 'bank',
  accounts: 'bank.accounts',
  transfers: 'bank.transfers',
  auditor: 'bank.auditor',
} as const
