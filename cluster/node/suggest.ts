/** "Did you mean" for mistyped flags, settings and commands: the closest known name, if close enough. */
export function closest(input: string, candidates: Iterable<string>): string | null {
  const needle = input.toLowerCase()
  let best: string | null = null
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = editDistance(needle, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  // Within a third of the name (at least 2 edits): beyond that a guess misleads more than it helps.
  return best !== null && bestDistance <= Math.max(2, Math.floor(input.length / 3)) ? best : null
}

/** `" (did you mean 'x'?)"`, or nothing. */
export function didYouMean(input: string, candidates: Iterable<string>, format: (name: string) => string = (name) => name): string {
  const match = closest(input, candidates)
  return match === null ? '' : ` (did you mean '${format(match)}'?)`
}

/** Damerau–Levenshtein (optimal string alignment): a swapped pair of letters counts as one edit. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array<number>(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min((d[(i - 1) * cols + j] as number) + 1, (d[i * cols + j - 1] as number) + 1, (d[(i - 1) * cols + j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (d[(i - 2) * cols + j - 2] as number) + 1)
      d[i * cols + j] = value
    }
  }
  return d[rows * cols - 1] as number
}
