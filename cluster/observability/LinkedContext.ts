import type { Context } from '@opentelemetry/api'

/**
 * An OpenTelemetry `Context` (an interface of `@opentelemetry/api`, open to implementations) as a
 * chain of one-entry nodes. Setting a value costs one small object, where the API's `BaseContext`
 * copies a Map and makes three closures: two of those per traced message were a fifth of tracing's
 * own cost. Lookups walk the chain, which stays short here (the span, and what a sender's context
 * held). Contexts derived from one of these are of this kind too; values set on the API's contexts
 * stay theirs.
 */
class LinkedContext implements Context {
  private readonly parent: Context
  private readonly key: symbol
  private readonly value: unknown
  constructor(parent: Context, key: symbol, value: unknown) {
    this.parent = parent
    this.key = key
    this.value = value
  }
  getValue(key: symbol): unknown {
    return key === this.key ? this.value : this.parent.getValue(key)
  }
  setValue(key: symbol, value: unknown): Context {
    return new LinkedContext(this, key, value)
  }
  deleteValue(key: symbol): Context {
    // A node that hides the key: getValue answers undefined, as for a deleted entry.
    return new LinkedContext(this, key, undefined)
  }
}

/** The empty context whose derived contexts are LinkedContexts: Tracing's root in place of `ROOT_CONTEXT`. */
export const EMPTY_CONTEXT: Context = {
  getValue: () => undefined,
  setValue: (key, value) => new LinkedContext(EMPTY_CONTEXT, key, value),
  deleteValue: () => EMPTY_CONTEXT,
}
