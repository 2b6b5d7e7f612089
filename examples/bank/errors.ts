import { defineError } from '../../runtime/index.ts'

/**
 * The bank's typed errors. Each has a stable `code`; actors return them as encoded data
 * (`encodeError`) inside an Outcome, and callers rebuild the class from the code (`decodeError`),
 * which also works once the reply has crossed a thread or a node.
 */
export const BankErrorCodes = {
  InsufficientFunds: 'ERR_INSUFFICIENT_FUNDS',
  InvalidAmount: 'ERR_INVALID_AMOUNT',
  UnknownAccount: 'ERR_UNKNOWN_ACCOUNT',
  AccountExists: 'ERR_ACCOUNT_EXISTS',
  TransactionVoided: 'ERR_TRANSACTION_VOIDED',
  StorageFailure: 'ERR_STORAGE_FAILURE',
  BankUnavailable: 'ERR_BANK_UNAVAILABLE',
} as const

/** A withdrawal larger than the balance. `data`: `{ account, balance, amount }`. */
export const InsufficientFundsError = defineError(BankErrorCodes.InsufficientFunds, 'InsufficientFundsError')
export type InsufficientFundsError = InstanceType<typeof InsufficientFundsError>
/** Amounts are positive safe integers (cents), and a transfer needs two different accounts. */
export const InvalidAmountError = defineError(BankErrorCodes.InvalidAmount, 'InvalidAmountError')
export type InvalidAmountError = InstanceType<typeof InvalidAmountError>
/** No account with that id was ever opened. */
export const UnknownAccountError = defineError(BankErrorCodes.UnknownAccount, 'UnknownAccountError')
export type UnknownAccountError = InstanceType<typeof UnknownAccountError>
export const AccountExistsError = defineError(BankErrorCodes.AccountExists, 'AccountExistsError')
export type AccountExistsError = InstanceType<typeof AccountExistsError>
/** The transaction id was reversed before it arrived: a late withdrawal or deposit is refused. */
export const TransactionVoidedError = defineError(BankErrorCodes.TransactionVoided, 'TransactionVoidedError')
export type TransactionVoidedError = InstanceType<typeof TransactionVoidedError>
/** The account store failed a write. Thrown, not returned: the account crashes and is restarted. */
export const StorageFailureError = defineError(BankErrorCodes.StorageFailure, 'StorageFailureError')
export type StorageFailureError = InstanceType<typeof StorageFailureError>
/** A part of the bank (directory, transfers) is not running, e.g. while its supervisor restarts it. */
export const BankUnavailableError = defineError(BankErrorCodes.BankUnavailable, 'BankUnavailableError')
export type BankUnavailableError = InstanceType<typeof BankUnavailableError>
