/**
 * Every TypeScript snippet of the documentation (README, ARCHITECTURE, docs/) type-checks as
 * written; those of README.md and docs/operations.md that need no running cluster also run as written. (The README's TroupeClient snippet calls a running
 * bank cluster over NATS: test/integration/snippets/readmeClient.test.ts runs it against one.)
 */
import { afterAll, describe, expect, it } from 'vitest'
import { allDocuments, DOCUMENTS, runSnippet, snippetsOf, typecheck, writeSnippets } from './snippets.ts'

const snippets = allDocuments().flatMap(snippetsOf)
const written = writeSnippets(snippets, 'unit')
afterAll(() => written.remove())

/** A snippet runs by itself unless it is an app module (the CLI loads those) or a client of a running cluster. */
function standalone(code: string): boolean {
  return !code.includes('export default defineApp(') && !code.includes('TroupeClient.connect(')
}

describe('documentation snippets', () => {
  it('finds the snippets (quickstart, client, publish, tracing setup)', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(40)
    expect(snippets.some((s) => s.code.includes("from 'troupe/client'"))).toBe(true)
  })

  it('type-check as written, `troupe/*` imports included', () => {
    const result = typecheck(written.files, 'unit')
    expect(result.stdout + result.stderr).toBe('')
    expect(result.status).toBe(0)
  }, 300_000)

  it('run as written: the README quickstart prints 2, the tracing setup loads', () => {
    const runnable = snippets.map((snippet, n) => ({ snippet, file: written.files[n] as string })).filter(({ snippet }) => DOCUMENTS.includes(snippet.document) && standalone(snippet.code))
    expect(runnable.length).toBeGreaterThanOrEqual(2)
    for (const { snippet, file } of runnable) {
      const result = runSnippet(file)
      expect(result.stderr, `${snippet.document}:${snippet.line}`).toBe('')
      expect(result.status, `${snippet.document}:${snippet.line}`).toBe(0)
      if (snippet.code.includes('ActorSystem.create')) expect(result.stdout).toBe('2\n')
    }
  }, 300_000)
})
