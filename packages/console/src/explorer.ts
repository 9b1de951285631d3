/** A cell of an explorer's result: what a read model holds, shown as text. */
export type ExplorerCell = string | number | boolean | null

export interface ExplorerField {
  name: string
  label: string
  placeholder?: string
}

/**
 * A read model an app lets operators search from the console (e.g. the order-status view). Given the
 * non-empty field values, `search` returns matching rows; bad input is a `validation` TidingsError,
 * whose message the console shows beside the form.
 */
export interface ConsoleExplorer {
  /** In URLs and ids: lowercase letters, digits and dashes. */
  name: string
  title: string
  fields: readonly ExplorerField[]
  search(query: Readonly<Record<string, string>>): Promise<Array<Record<string, ExplorerCell>>>
}
