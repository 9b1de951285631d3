import type { Child } from 'hono/jsx'
import type { ApiProblem } from './api-types'

/**
 * Why a form was refused, announced at once (`role="alert"`) and placed next to the form. The API's
 * problem detail and field messages are shown as text, never as markup.
 */
export function Alert({ problem }: { problem: ApiProblem | string | undefined }) {
  if (problem === undefined) return null
  if (typeof problem === 'string') return <div class="alert" role="alert"><p>{problem}</p></div>
  return (
    <div class="alert" role="alert">
      <p>{problem.detail}</p>
      {problem.fields && problem.fields.length > 0 && (
        <ul>
          {problem.fields.map((f) => (
            <li>{f.path ? `${f.path}: ${f.message}` : f.message}</li>
          ))}
        </ul>
      )}
    </div>
  )
}

/** A moment, machine-readable in `datetime` and the same for every reader on screen (no client-side clock). */
export function Time({ at }: { at: string }) {
  return <time datetime={at}>{formatTime(at)}</time>
}

export function formatTime(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/**
 * A labelled input. No `required` or length limits: the API is the one validator, and its message (shown
 * in the alert) says exactly what is wrong, where a browser's built-in bubble would pre-empt it.
 */
export function Field(props: { label: string; name: string; type?: string; value?: string; autocomplete?: string; multiline?: boolean; id?: string }) {
  const id = props.id ?? `field-${props.name}`
  return (
    <>
      <label for={id}>{props.label}</label>
      {props.multiline ? (
        // HTML drops a newline right after <textarea>: this one goes, the member's own first line stays.
        <textarea id={id} name={props.name}>
          {`\n${props.value ?? ''}`}
        </textarea>
      ) : (
        <input id={id} name={props.name} type={props.type ?? 'text'} value={props.value ?? ''} autocomplete={props.autocomplete} />
      )}
    </>
  )
}

/** A one-button form: the no-JavaScript way to send an unsafe request (delete, mark read, log out). */
export function ButtonForm(props: { action: string; label: string; hidden?: Record<string, string>; secondary?: boolean; children?: Child }) {
  return (
    <form method="post" action={props.action}>
      {Object.entries(props.hidden ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={props.secondary ? 'secondary' : undefined}>
        {props.label}
        {props.children}
      </button>
    </form>
  )
}
