/**
 * What outside callers may send to the bank, as zod schemas of each published method's argument
 * tuple (any Standard Schema library works the same way). The gateway refuses anything else with
 * ERR_INVALID_ARGS before an actor sees it, so a malformed transfer can never crash Transfers.
 */
import { z } from 'zod'

/** Account ids: short tokens (they end up in logs and registry keys). */
export const AccountId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an account id is 1-64 letters, digits, - or _')

/** Whole cents, positive, exact in a double. */
export const Cents = z.number().int().positive().max(Number.MAX_SAFE_INTEGER)

/** A transfer from outside: no other keys (the step timeout is the coordinator's to choose). */
export const TransferRequestSchema = z.strictObject({ from: AccountId, to: AccountId, amount: Cents })

const none = z.tuple([])

export const publicArgs = {
  transfers: { transfer: z.tuple([TransferRequestSchema]), stats: none },
  accounts: { get: z.tuple([AccountId]), running: none, snapshot: none },
  auditor: { check: none, summary: none },
} as const
