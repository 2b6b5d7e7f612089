import { defineError, defineRejection } from '../../runtime/index.ts'

/**
 * The bank's typed errors, each with a stable `code`. Domain refusals are Rejections: a handler
 * throws one to say "no" to its caller and carries on unharmed with its state (the asker gets the
 * error, rebuilt from its code on any hop). Only real faults are plain errors: they crash the actor
 * and its supervisor decides.
 */
export const BankErrorCodes = {
  InsufficientFunds: 'ERR_INSUFFICIENT_FUNDS',
  InvalidAmount: 'ERR_INVALID_AMOUNT',
  InvalidTransfer: 'ERR_INVALID_TRANSFER',
  UnknownAccount: 'ERR_UNKNOWN_ACCOUNT',
  AccountExists: 'ERR_ACCOUNT_EXISTS',
  TransactionVoided: 'ERR_TRANSACTION_VOIDED',
  StorageFailure: 'ERR_STORAGE_FAILURE',
  BankUnavailable: 'ERR_BANK_UNAVAILABLE',
} as const

/** A withdrawal larger than the balance. `data`: `{ account, balance, amount }`. */
export const InsufficientFundsError = defineRejection(BankErrorCodes.InsufficientFunds, 'InsufficientFundsError')
export type InsufficientFundsError = InstanceType<typeof InsufficientFundsError>
/** Amounts are positive safe integers (cents), and a transfer needs two different accounts. */
export const InvalidAmountError = defineRejection(BankErrorCodes.InvalidAmount, 'InvalidAmountError')
export type InvalidAmountError = InstanceType<typeof InvalidAmountError>
/** A transfer request that is not `{from, to, amount}` (only an in-cluster caller can send one: the gateway's schema refuses it first). */
export const InvalidTransferError = defineRejection(BankErrorCodes.InvalidTransfer, 'InvalidTransferError')
export type InvalidTransferError = InstanceType<typeof InvalidTransferError>
/** No account with that id was ever opened. */
export const UnknownAccountError = defineRejection(BankErrorCodes.UnknownAccount, 'UnknownAccountError')
export type UnknownAccountError = InstanceType<typeof UnknownAccountError>
export const AccountExistsError = defineRejection(BankErrorCodes.AccountExists, 'AccountExistsError')
export type AccountExistsError = InstanceType<typeof AccountExistsError>
/** The transaction id was reversed before it arrived: a late withdrawal or deposit is refused. */
export const TransactionVoidedError = defineRejection(BankErrorCodes.TransactionVoided, 'TransactionVoidedError')
export type TransactionVoidedError = InstanceType<typeof TransactionVoidedError>
/** A part of the bank (directory, transfers) is not running or did not answer, e.g. while its supervisor restarts it. */
export const BankUnavailableError = defineRejection(BankErrorCodes.BankUnavailable, 'BankUnavailableError')
export type BankUnavailableError = InstanceType<typeof BankUnavailableError>
/** The account store failed a write. A fault, not a refusal: the account crashes and is restarted. */
export const StorageFailureError = defineError(BankErrorCodes.StorageFailure, 'StorageFailureError')
export type StorageFailureError = InstanceType<typeof StorageFailureError>
