/**
 * The generated parts of docs/operations.md and the config file's JSON Schema
 * (node.config.schema.json), built from the settings table and from a live metrics registry.
 * `npm run docs:generate` writes them; test/unit/cluster/node/generatedDocs.test.ts fails when a
 * checked-in copy is stale.
 */
import { Registry } from 'prom-client'
import { configFileJsonSchema, SETTING_KEYS, SETTINGS } from '../cluster/node/index.ts'
import { ClusterMetrics, TroupeMetrics } from '../cluster/observability/index.ts'

export const SCHEMA_FILE = 'node.config.schema.json'
export const OPERATIONS_DOC = 'docs/operations.md'

export function schemaText(): string {
  return `${JSON.stringify(configFileJsonSchema(), null, 2)}\n`
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

/** The configuration reference: one row per setting. */
export function configTable(): string {
  const rows = SETTING_KEYS.map((key) => {
    const spec = SETTINGS[key]
    const fallback = key === 'name' ? '`node-<pid>`' : JSON.stringify(spec.default) === '""' ? '(empty)' : `\`${JSON.stringify(spec.default)}\``
    const type = spec.kind === 'integer' ? `integer ≥ ${spec.min ?? 0}` : spec.kind === 'level' ? 'log level' : spec.kind === 'ratio' ? 'number in [0, 1]' : spec.kind === 'choice' ? (spec.choices ?? []).map((c) => `\`${c}\``).join(' \\| ') : spec.kind
    return `| \`${key}\` | ${type} | ${fallback} | ${spec.env === null ? '—' : `\`${spec.env}\``} | ${spec.flag === null ? '—' : `\`--${spec.flag}\``} | ${cell(spec.description)} |`
  })
  return ['| Setting (file key) | Type | Default | Environment | Flag | Meaning |', '|---|---|---|---|---|---|', ...rows].join('\n')
}

/** The metrics reference: every family a node's TroupeMetrics registers (shard families included), and a cluster node's ClusterMetrics. */
export async function metricsTable(): Promise<string> {
  const registry = new Registry()
  const metrics = new TroupeMetrics({ registry })
  metrics.observeShards({ stats: async () => ({ shards: [] }) as never })
  new ClusterMetrics(registry)
  const families = await registry.getMetricsAsJSON()
  metrics.close()
  const rows = families
    .map((family) => {
      const labels = new Set<string>()
      const declared = (registry.getSingleMetric(family.name) as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? []
      for (const label of declared) labels.add(label)
      return `| \`${family.name}\` | ${family.type} | ${[...labels].map((label) => `\`${label}\``).join(', ') || '—'} | ${cell(family.help)} |`
    })
    .sort()
  return ['| Metric | Type | Labels | Meaning |', '|---|---|---|---|', ...rows].join('\n')
}

/** Replaces the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`. */
export function fillSection(document: string, name: string, content: string): string {
  const open = `<!-- generated:${name} -->`
  const close = `<!-- /generated:${name} -->`
  const start = document.indexOf(open)
  const end = document.indexOf(close)
  if (start < 0 || end < start) throw new Error(`${OPERATIONS_DOC} has no ${open} … ${close} section`)
  return `${document.slice(0, start + open.length)}\n${content}\n${document.slice(end)}`
}

export async function operationsText(current: string): Promise<string> {
  return fillSection(fillSection(current, 'config', configTable()), 'metrics', await metricsTable())
}
