export interface Figure {
  id: string
  figure: string
  value: string
  ceiling?: string
  ratio?: number
  goal?: string
  /** Whether the goal was met; absent for figures without a goal. */
  met?: boolean
}

/** Collects the run's figures and details and prints them as a markdown table (pasteable into the README): server figures by number, then the embedded ones (suffix e). */
export class Report {
  readonly figures: Figure[] = []
  readonly details: string[] = []

  add(figure: Figure): void {
    this.figures.push(figure)
    console.log(`  ${figure.id}. ${figure.figure}: ${figure.value}${figure.ratio !== undefined ? ` (ratio ${figure.ratio.toFixed(2)})` : ''}`)
  }

  detail(line: string): void {
    this.details.push(line)
    console.log(`     ${line}`)
  }

  table(): string {
    const header = ['#', 'figure', 'value', 'ceiling', 'ratio', 'goal', 'met']
    const order = (f: Figure): [number, number, string] => [f.id.endsWith('e') ? 1 : 0, Number.parseInt(f.id, 10), f.id]
    const sorted = [...this.figures].sort((a, b) => {
      const [x, y] = [order(a), order(b)]
      return x[0] - y[0] || x[1] - y[1] || x[2].localeCompare(y[2])
    })
    const rows = sorted.map((f) => [
      f.id,
      f.figure,
      f.value,
      f.ceiling ?? '—',
      f.ratio === undefined ? '—' : f.ratio.toFixed(2),
      f.goal ?? '—',
      f.met === undefined ? '' : f.met ? 'yes' : '**no**',
    ])
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
    return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
  }
}
